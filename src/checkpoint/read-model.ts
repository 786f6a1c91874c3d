// readSafetensors() of a training checkpoint (its folder, or a root whose LATEST names one): the model
// weights. Loaded on first use (sources/read.ts): a page that reads model files does not ship the
// checkpoint reader.
// Loaded only by dynamic import. The entry, imported for no bindings, keeps a page's start code in one
// chunk when a bundler splits code (the lazy-module hint: scripts/check-imports.js).
import '../index.js';
import type { Store } from '../store/store.js';
import { joinKey } from '../store/keys.js';
import { openModel, type ReadOptions, type SafetensorsFile } from '../format/safetensors-read.js';
import { publicKeyCheck } from '../format/public-key-check.js';
import { loggerFrom } from '../log/logger.js';
import { MODEL_FILE } from './layout.js';
import { locateCheckpoint, readCheckpointDir } from './read.js';

/** The checkpoint's model file, opened as readSafetensors opens a file; with a public key, the whole folder checked first. */
export async function readCheckpointModel(store: Store, key: string, opts: ReadOptions): Promise<SafetensorsFile> {
  const dir = await locateCheckpoint(store, key);
  if (opts.publicKey === undefined) return openModel(store, 'file', joinKey(dir, MODEL_FILE), opts);
  // A checkpoint's signature is on its manifest, which lists every file with its SHA-256 (the model's
  // own sidecar is not signed): the folder is read and checked whole, as loadCheckpoint does.
  const checkSignature = opts.checkSignature ?? (await publicKeyCheck(opts.publicKey));
  return (await readCheckpointDir(store, dir, { key: opts.key, checkSignature, logger: loggerFrom(opts), signal: opts.signal, onProgress: opts.onProgress })).model;
}

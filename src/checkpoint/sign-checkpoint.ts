// sign() for a training checkpoint: an Ed25519 signature added to its manifest, which lists every file
// with its SHA-256, after every byte of the checkpoint is checked against it. Loaded on first use
// (sources/verify.ts): a page that signs or verifies model files does not ship the checkpoint reader.
// Loaded only by dynamic import. The entry, imported for no bindings, keeps a page's start code in one
// chunk when a bundler splits code (the lazy-module hint: scripts/check-imports.js).
import '../index.js';
import type { Store } from '../store/store.js';
import { writeAtomic } from '../store/atomic.js';
import { joinKey } from '../store/keys.js';
import { loggerFrom, type Logger } from '../log/logger.js';
import { canonicalJson, parseJsonObject } from '../format/signed-json.js';
import { addSignature, type Signer } from '../format/signature.js';
import { throwIfAborted, type OperationOptions } from '../types/operation.js';
import { MANIFEST } from './layout.js';
import { locateCheckpoint } from './read.js';
import { verifyCheckpoint } from './verify-checkpoint.js';

/**
 * Signs the checkpoint at `key` (its folder, or a root whose LATEST names one) with `signer`: the manifest
 * is rewritten atomically with the signature added (other signatures kept). INTEGRITY when a file no
 * longer matches the manifest: signing vouches for the checkpoint as it is.
 */
export async function signCheckpoint(store: Store, key: string, signer: Signer, opts: { logger?: Logger } & OperationOptions = {}): Promise<{ path: string; sidecars: string[]; keyid: string }> {
  const dir = await locateCheckpoint(store, key);
  await verifyCheckpoint(store, dir, { logger: opts.logger, signal: opts.signal, onProgress: opts.onProgress });
  const mk = joinKey(dir, MANIFEST);
  const raw = parseJsonObject(await store.read(mk), store.describe(mk));
  const signed = await addSignature(raw, signer, canonicalJson);
  throwIfAborted(opts.signal);
  await writeAtomic(store, mk, new TextEncoder().encode(JSON.stringify(signed, null, 1) + '\n'));
  loggerFrom(opts).info('signed checkpoint manifest', { path: store.describe(mk), keyid: signer.keyid });
  return { path: store.describe(dir), sidecars: [store.describe(mk)], keyid: signer.keyid };
}

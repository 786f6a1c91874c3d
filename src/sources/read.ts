// readSafetensors: a safetensors file or a sharded model from any source, found by the detector
// (src/sources/detect.ts) and opened by the format's one reader — the sharded one binding every shard
// to the signed index before any tensor is returned.
import { UnsupportedError } from '../errors.js';
import { resolveSource, type Source } from '../store/resolve.js';
import { openModel, type ReadOptions, type SafetensorsFile } from '../format/safetensors-read.js';
import { detectSource } from './detect.js';
import { underSignal } from '../types/operation.js';

/**
 * Opens a safetensors file or a sharded model (its index, or a folder holding either; a training
 * checkpoint: its model weights) from any source. See ReadOptions for what is loaded and checked.
 */
export async function readSafetensors(src: Source, opts: ReadOptions = {}): Promise<SafetensorsFile> {
  return underSignal(opts.signal, () => readUnder(src, opts));
}

async function readUnder(src: Source, opts: ReadOptions): Promise<SafetensorsFile> {
  const { store, key } = resolveSource(src, { signal: opts.signal });
  const d = await detectSource(store, key);
  switch (d.kind) {
    case 'sharded':
      return openModel(store, 'sharded', d.key, opts, d.probe);
    case 'checkpoint':
      // The checkpoint reader loads on first use: a page that reads model files does not ship it.
      return (await import('../checkpoint/read-model.js')).readCheckpointModel(store, d.key, opts);
    case 'torch':
      throw new UnsupportedError(`${store.describe(d.key)} is a PyTorch file, not safetensors: read it with readTorch(), or convert it (convertTorchToSafetensors, \`safeckpt convert\`)`, {
        path: store.describe(d.key), detail: 'NOT_SAFETENSORS',
      });
    default:
      // 'unknown' too: any file may be a broken safetensors one, and its reader says precisely what is wrong.
      return openModel(store, 'file', d.key, opts, d.probe);
  }
}

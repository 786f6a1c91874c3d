// The torch inspector: a .pt (zip or legacy) is read without executing its
// pickle, and every tensor is listed by its dotted path in the pickled
// structure (`model.fc1.weight`, `optimizer.state.0.exp_avg`). --digests hashes
// each tensor's contiguous little-endian bytes, as for every other format.
import type { Inspection, InspectedTensor, InspectOptions } from './inspect.js';
import type { Store } from '../store/store.js';
import { readTorchFile } from '../format/torch/read.js';
import { createSha256, toHex } from '../core/hash.js';
import { ProgressReporter, throwIfAborted } from '../types/operation.js';

/** A PyTorch file, read without executing its pickle. */
export async function inspectTorch(store: Store, key: string, opts: InspectOptions): Promise<Inspection> {
  const file = await readTorchFile({ store, key });
  const total = [...file.tensors.values()].reduce((a, t) => a + t.byteLength, 0);
  const progress = new ProgressReporter(opts.onProgress, total, 'hash');
  const tensors: InspectedTensor[] = [];
  for (const [name, t] of file.tensors) {
    const entry: InspectedTensor = { name, dtype: t.dtype, shape: [...t.shape], byteLength: t.byteLength };
    if (opts.digests) {
      throwIfAborted(opts.signal);
      entry.sha256 = toHex(createSha256().update(t.bytes()).digest());
      progress.add(t.byteLength);
    }
    tensors.push(entry);
  }
  if (opts.digests) progress.finish();
  const storages = new Set([...file.tensors.values()].map((t) => t.storage.root ?? t.storage));
  const details: Record<string, string | number> = {
    container: file.format === 'zip' ? `zip, entries under '${file.prefix}/'` : 'legacy (pre-1.6, non-zip)',
    version: file.version,
    byteorder: file.byteorder,
    storages: storages.size,
    'pickle protocol': file.pickleProtocol,
  };
  if (file.serializationId) details['serialization id'] = file.serializationId;
  return { format: 'pytorch', path: store.describe(key), size: await store.size(key), tensors, metadata: null, details };
}

// The sharded-model inspector (Hugging Face's model.safetensors.index.json):
// the index and every shard's header — checked against each other as the
// reader does — and each tensor with the shard that holds it. No tensor data
// is read unless --digests asks for it.
import type { Inspection, InspectedTensor, InspectOptions } from './inspect.js';
import type { Store } from '../store/store.js';
import { shardKeysOf } from '../format/sharded.js';
import { openSharded } from '../format/sharded-read.js';
import { baseOf } from '../store/keys.js';
import { safetensorsTensors } from './inspect-safetensors.js';
import { ProgressReporter } from '../types/operation.js';

/** A sharded model, opened by the one sharded reader (no data, no sidecars: inspect describes, verify checks). */
export async function inspectSharded(store: Store, key: string, opts: InspectOptions, probe?: Uint8Array): Promise<Inspection> {
  // openSharded refuses a weight_map that disagrees with the shards' headers (CORRUPT naming the tensor).
  const model = await openSharded(store, key, { load: 'none', verify: false }, undefined, probe);
  const index = model.index;
  const shards = shardKeysOf(key, index);
  const total = model.files.reduce((a, f) => a + f.header.dataLength, 0);
  const progress = new ProgressReporter(opts.onProgress, total, 'hash');
  let size = 0;
  const tensors: InspectedTensor[] = [];
  for (const [i, f] of model.files.entries()) {
    const shardSize = f.header.dataStart + f.header.dataLength;
    size += shardSize;
    const file = baseOf(shards[i]);
    for (const t of await safetensorsTensors(store, shards[i], f.header, shardSize, opts, progress.onBytes)) {
      tensors.push({ ...t, file });
    }
  }
  if (opts.digests) progress.finish();
  const details: Record<string, string | number> = { shards: shards.length };
  if (typeof index.metadata?.total_size === 'number') details['total_size (index)'] = index.metadata.total_size;
  return { format: 'safetensors-sharded', path: store.describe(key), size, tensors, metadata: model.metadata, details };
}

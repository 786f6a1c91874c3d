// The sharded-model inspector (Hugging Face's model.safetensors.index.json):
// the index and every shard's header — checked against each other as the
// reader does — and each tensor with the shard that holds it. No tensor data
// is read unless --digests asks for it.
import type { Inspector, InspectedTensor } from './inspect.js';
import { INDEX_SUFFIX, parseIndex, shardKeysOf } from '../format/sharded.js';
import { openSharded } from '../format/safetensors-read.js';
import { baseOf } from '../store/keys.js';
import { safetensorsTensors } from './inspect-safetensors.js';

export const shardedInspector: Inspector = {
  format: 'safetensors-sharded',
  sniff(_head, key) {
    // An index is JSON, which no content rule tells apart: its name does (and outranks every file format).
    return key.endsWith(INDEX_SUFFIX) ? 30 : 0;
  },
  async inspect(store, key, opts) {
    const index = parseIndex(await store.read(key), store.describe(key));
    // openSharded refuses a weight_map that disagrees with the shards' headers (CORRUPT naming the tensor).
    const model = await openSharded(store, key, { load: 'none', verify: false });
    const shards = shardKeysOf(key, index);
    const total = model.files.reduce((a, f) => a + f.header.dataLength, 0);
    let hashed = 0, size = 0;
    const tensors: InspectedTensor[] = [];
    for (const [i, f] of model.files.entries()) {
      const shardSize = f.header.dataStart + f.header.dataLength;
      size += shardSize;
      const file = baseOf(shards[i]);
      for (const t of await safetensorsTensors(store, shards[i], f.header, shardSize, opts, (n) => opts.onProgress?.((hashed += n), total))) {
        tensors.push({ ...t, file });
      }
    }
    const details: Record<string, string | number> = { shards: shards.length };
    if (typeof index.metadata?.total_size === 'number') details['total_size (index)'] = index.metadata.total_size;
    return { format: 'safetensors-sharded', path: store.describe(key), size, tensors, metadata: model.metadata, details };
  },
};

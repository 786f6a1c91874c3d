// The safetensors inspector: the header is read and validated alone (8 bytes,
// then exactly N), tensor bytes only for --digests, in bounded segments.
import type { Inspector, InspectedTensor } from './inspect.js';
import { readHeaderAt } from '../format/safetensors-read.js';
import { HEADER_PREFIX_BYTES, MAX_HEADER_LENGTH } from '../core/header.js';
import { createSha256, toHex } from '../core/hash.js';

/** Bytes read per request while hashing: large tensors never need one huge buffer. */
export const DIGEST_SEGMENT = 16 << 20;

export const safetensorsInspector: Inspector = {
  format: 'safetensors',
  sniff(head) {
    // Nothing else has a magic number here: any file may be a (broken) safetensors one, so it is
    // the fallback (1), and the likely choice (10) when a plausible length is followed by '{'.
    if (head.length < HEADER_PREFIX_BYTES) return 1;
    const n = new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true);
    let i = HEADER_PREFIX_BYTES;
    while (i < head.length && (head[i] === 0x20 || head[i] === 0x09 || head[i] === 0x0a || head[i] === 0x0d)) i++;
    return n <= BigInt(MAX_HEADER_LENGTH) && head[i] === 0x7b ? 10 : 1;
  },
  async inspect(store, key, opts) {
    const { header, size } = await readHeaderAt(store, key);
    const tensors: InspectedTensor[] = [];
    const total = header.dataLength;
    let hashed = 0;
    for (const t of header.tensors()) {
      const entry: InspectedTensor = { name: t.name, dtype: t.dtype, shape: [...t.shape], byteLength: t.byteLength, offsets: [t.begin, t.end] };
      if (opts.digests) {
        const h = createSha256();
        for (let at = t.begin; at < t.end; at += DIGEST_SEGMENT) {
          const end = Math.min(t.end, at + DIGEST_SEGMENT);
          h.update(await store.read(key, { start: header.dataStart + at, end: header.dataStart + end }));
          hashed += end - at;
          opts.onProgress?.(hashed, total);
        }
        entry.sha256 = toHex(h.digest());
      }
      tensors.push(entry);
    }
    return {
      format: 'safetensors',
      path: store.describe(key),
      size,
      tensors,
      metadata: header.metadata,
      details: { headerLength: header.headerLength, dataStart: header.dataStart, dataLength: header.dataLength },
    };
  },
};

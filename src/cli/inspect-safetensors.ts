// The safetensors inspector: the header is read and validated alone (8 bytes,
// then exactly N); tensor bytes only for --digests, streamed through the
// per-tensor hashers in large ranged reads (one request per 16 MiB over HTTP,
// however many tensors), the same scan verify uses.
import type { Inspector, InspectedTensor, InspectOptions } from './inspect.js';
import type { Store } from '../store/store.js';
import type { Header } from '../types/tensor.js';
import { readHeaderAt } from '../format/safetensors-read.js';
import { scanTensors } from '../sources/verify.js';
import { HEADER_PREFIX_BYTES, MAX_HEADER_LENGTH } from '../core/header.js';

/** The tensors of one safetensors file in file order, with their SHA-256 when asked (`onBytes`: bytes hashed). */
export async function safetensorsTensors(store: Store, key: string, header: Header, size: number, opts: InspectOptions,
  onBytes: (n: number) => void): Promise<InspectedTensor[]> {
  const digests = opts.digests ? (await scanTensors(store, key, header, size, { onBytes })).tensors : undefined;
  return Array.from(header.tensors(), (t): InspectedTensor => ({
    name: t.name, dtype: t.dtype, shape: [...t.shape], byteLength: t.byteLength, offsets: [t.begin, t.end],
    ...(digests ? { sha256: digests[t.name] } : {}),
  }));
}

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
    let hashed = 0;
    const tensors = await safetensorsTensors(store, key, header, size, opts, (n) => opts.onProgress?.((hashed += n), header.dataLength));
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

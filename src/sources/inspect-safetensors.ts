// The safetensors inspector: the header is read and validated alone (8 bytes,
// then exactly N); tensor bytes only for --digests, streamed through the
// per-tensor hashers in large ranged reads (one request per 16 MiB over HTTP,
// however many tensors), the same scan verify uses.
import type { Inspection, InspectedTensor, InspectOptions } from './inspect.js';
import type { Store } from '../store/store.js';
import type { Header } from '../types/tensor.js';
import { readHeaderAt } from '../format/safetensors-read.js';
import { scanTensors } from './verify.js';
import { ProgressReporter } from '../types/operation.js';

/** The tensors of one safetensors file in file order, with their SHA-256 when asked (`onBytes`: bytes hashed). */
export async function safetensorsTensors(store: Store, key: string, header: Header, size: number, opts: InspectOptions,
  onBytes: (n: number) => void): Promise<InspectedTensor[]> {
  const digests = opts.digests ? (await scanTensors(store, key, header, size, { onBytes, signal: opts.signal })).tensors : undefined;
  return Array.from(header.tensors(), (t): InspectedTensor => ({
    name: t.name, dtype: t.dtype, shape: [...t.shape], byteLength: t.byteLength, offsets: [t.begin, t.end],
    ...(digests ? { sha256: digests[t.name] } : {}),
  }));
}

/** One safetensors file: its header, validated alone (and its tensors' SHA-256 with --digests). */
export async function inspectSafetensors(store: Store, key: string, opts: InspectOptions, probe?: Uint8Array): Promise<Inspection> {
  const { header, size } = await readHeaderAt(store, key, probe);
  const progress = new ProgressReporter(opts.onProgress, header.dataLength, 'hash');
  const tensors = await safetensorsTensors(store, key, header, size, opts, progress.onBytes);
  if (opts.digests) progress.finish();
  return {
    format: 'safetensors',
    path: store.describe(key),
    size,
    tensors,
    metadata: header.metadata,
    details: { headerLength: header.headerLength, dataStart: header.dataStart, dataLength: header.dataLength },
  };
}

// .pt → .safetensors. The torch file is read without executing anything, the
// weights are chosen (a state dict as is; from a whole training checkpoint the
// model's weights), and written by the safetensors writer with a sidecar. The
// header metadata — and so the sidecar — records where the weights came from:
// the source file's name and SHA-256, its format, and which part was taken.
import { NotFoundError, UnsupportedError } from '../../errors.js';
import { createSha256, toHex } from '../../core/hash.js';
import { resolveSource, type Dest, type Source } from '../../store/resolve.js';
import { writeSafetensors, type WriteOptions, type WriteResult } from '../safetensors-write.js';
import type { TensorMap } from '../../types/tensor.js';
import { openSource } from '../source.js';
import { readTorchFile, walkTensors, type ReadTorchOptions, type TorchFile } from './read.js';
import type { TorchTensor } from './tensor.js';
import { throwIfAborted, underSignal } from '../../types/operation.js';

/** Keys under which training scripts keep the model's weights, most common first. */
export const WEIGHT_KEYS = ['model', 'state_dict', 'model_state_dict', 'module', 'net', 'network', 'weights'];
/** Bytes hashed per read of the source: bounded memory for any file size. */
const HASH_CHUNK = 16 << 20;

/** Options of convertTorchToSafetensors: which part of the pickled structure to take, the HMAC key, CRC checks. */
export interface ConvertOptions extends ReadTorchOptions, Omit<WriteOptions, 'metadata'> {
  /**
   * Dotted path of the part to convert ('model', 'ema.state_dict'); '' for every
   * tensor in the file. Default: the model's weights of a training checkpoint
   * (the first of WEIGHT_KEYS that holds tensors, when other parts hold tensors
   * too), else every tensor.
   */
  select?: string;
  /** Extra `__metadata__` entries (string → string). */
  metadata?: Record<string, string>;
}

/** What a conversion wrote, which part of the .pt it took and why, what it skipped, and the source's SHA-256. */
export interface ConvertResult extends WriteResult {
  /** The dotted path converted ('' = the whole file). */
  selected: string;
  /** Why that part: 'given', 'whole file', or 'weights of a training checkpoint'. */
  reason: string;
  source: { file: string; sha256: string; format: 'zip' | 'legacy' };
  /** Tensors in the file that were not converted (their dotted paths). */
  skipped: string[];
}

/** The part of a read torch file to convert, and its tensors by name relative to it. */
export function selectTensors(file: TorchFile, select?: string): { selected: string; reason: string; tensors: Map<string, TorchTensor> } {
  let selected = select;
  let reason = 'given';
  if (selected === undefined) {
    const root = file.value;
    const parts = root && typeof root === 'object' && !Array.isArray(root) && !(root instanceof Map) ? (root as Record<string, unknown>) : null;
    const holds = (k: string) => [...file.tensors.keys()].some((p) => p.startsWith(k + '.'));
    const key = parts ? WEIGHT_KEYS.find((k) => Object.prototype.hasOwnProperty.call(parts, k) && holds(k)) : undefined;
    const others = key !== undefined && [...file.tensors.keys()].some((p) => !p.startsWith(key + '.'));
    if (key !== undefined && (others || Object.keys(parts!).length > 1)) {
      selected = key;
      reason = 'weights of a training checkpoint';
    } else {
      selected = '';
      reason = 'whole file';
    }
  }
  const tensors = new Map<string, TorchTensor>();
  if (selected === '') {
    for (const [p, t] of file.tensors) tensors.set(p, t);
    return { selected, reason, tensors };
  }
  let v: unknown = file.value;
  for (const k of selected.split('.')) {
    if (v instanceof Map) v = v.get(k) ?? v.get(Number(k));
    else if (v && typeof v === 'object' && Object.prototype.hasOwnProperty.call(v, k)) v = (v as Record<string, unknown>)[k];
    else throw new NotFoundError(`'${selected}' is not in the file (no '${k}'); its tensors are under: ${topLevel(file)}`, { detail: 'SELECT' });
  }
  walkTensors(v, (p, t) => { tensors.set(p, t); });
  if (tensors.size === 0 && v && typeof v === 'object' && 'bytes' in (v as object)) tensors.set(selected.split('.').pop()!, v as TorchTensor);
  return { selected, reason, tensors };
}

function topLevel(file: TorchFile): string {
  const tops = new Set([...file.tensors.keys()].map((p) => p.split('.')[0]));
  return [...tops].slice(0, 10).join(', ') || '(no tensors)';
}

/** SHA-256 of a whole source, read in bounded chunks. */
export async function sourceSha256(src: Source, signal?: AbortSignal): Promise<{ sha256: string; name: string; size: number }> {
  const s = await openSource(src);
  const h = createSha256();
  for (let at = 0; at < s.size; at += HASH_CHUNK) {
    throwIfAborted(signal);
    h.update(await s.read(at, Math.min(s.size, at + HASH_CHUNK)));
  }
  return { sha256: toHex(h.digest()), name: s.name, size: s.size };
}

/** Converts a PyTorch .pt (read without executing its pickle) to safetensors with a sidecar. */
export async function convertTorchToSafetensors(src: Source, dest: Dest, opts: ConvertOptions = {}): Promise<ConvertResult> {
  return underSignal(opts.signal, () => convertUnder(src, dest, opts));
}

async function convertUnder(src: Source, dest: Dest, opts: ConvertOptions): Promise<ConvertResult> {
  const file = await readTorchFile(src, opts);
  throwIfAborted(opts.signal);
  const { selected, reason, tensors } = selectTensors(file, opts.select);
  if (tensors.size === 0) {
    throw new UnsupportedError(`${file.prefix ?? 'the file'}: no tensors ${selected ? `under '${selected}'` : 'in the file'} to convert`, { detail: 'NO_TENSORS' });
  }
  const hashed = await sourceSha256(src, opts.signal);
  const base = src instanceof Uint8Array ? (opts.name ?? 'bytes') : baseName(resolveSource(src).key) || hashed.name;
  const map: TensorMap = {};
  for (const [name, t] of tensors) map[name] = t;
  const metadata: Record<string, string> = {
    format: 'pt',
    ...opts.metadata,
    'safeckpt.source_file': base,
    'safeckpt.source_sha256': hashed.sha256,
    'safeckpt.source_format': file.format === 'zip' ? 'torch-zip' : 'torch-legacy',
    'safeckpt.source_selected': selected,
  };
  const result = await writeSafetensors(dest, map, { ...opts, metadata });
  const skipped = [...file.tensors.keys()].filter((p) => !(selected === '' || p.startsWith(selected + '.') || p === selected));
  opts.logger?.info('converted torch checkpoint', { source: base, selected, reason, tensors: tensors.size, skipped: skipped.length });
  return { ...result, selected, reason, source: { file: base, sha256: hashed.sha256, format: file.format }, skipped };
}

function baseName(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1);
}

// What differs between two sets of weights: tensors added, removed, and changed
// in dtype, shape or bytes, with the largest absolute difference of the values
// for float tensors (compared as Float32, whatever each side's dtype). Either
// side is any weights source (safetensors, sharded, .pt, URL …) or a record of
// tensors; tensors are read one pair at a time, so memory stays at two tensors.
import { resolveSource, type Source } from '../store/resolve.js';
import { toFloat32 } from '../format/convert.js';
import type { Dtype } from '../types/dtype.js';
import type { TensorLike, TensorView } from '../types/tensor.js';
import { openTensors, type OpenTensorsOptions, type TensorEntry, type TensorSource } from './open.js';
import { throwIfAborted, underSignal } from '../types/operation.js';

/** A tensor as a diff reports it: name, dtype, shape. */
export interface TensorSummary {
  name: string;
  dtype: Dtype;
  shape: number[];
}

/** A tensor in both sources that differs: what changed, and the max absolute difference of float values. */
export interface ChangedTensor {
  name: string;
  a: { dtype: Dtype; shape: number[] };
  b: { dtype: Dtype; shape: number[] };
  /** What differs; 'bytes' only when dtype and shape are the same. */
  changes: ('dtype' | 'shape' | 'bytes')[];
  /** max |a − b| over elements both sides hold as finite numbers (float tensors with the same element count). */
  maxAbsDiff?: number;
  /** Elements where one side is NaN or ±inf and the other is not the same value. */
  nonFiniteMismatches?: number;
}

/** Two weights sources compared: tensors added, removed, changed and unchanged. */
export interface TensorDiff {
  /** Same names, dtypes, shapes and bytes. */
  identical: boolean;
  a: { path: string; format: string; tensors: number };
  b: { path: string; format: string; tensors: number };
  /** In b but not in a (b's order). */
  added: TensorSummary[];
  /** In a but not in b (a's order). */
  removed: TensorSummary[];
  /** In both, different (a's order). */
  changed: ChangedTensor[];
  /** In both and the same. */
  unchanged: number;
}

/** Either side of a diff: a weights source, an opened one, or name → tensor. */
export type DiffSide = Source | TensorSource | Readonly<Record<string, TensorLike>>;

const FLOAT: ReadonlySet<string> = new Set(['F64', 'F32', 'F16', 'BF16', 'F8_E4M3', 'F8_E5M2', 'F8_E4M3FNUZ', 'F8_E5M2FNUZ', 'F8_E8M0']);

function isTensorSource(x: unknown): x is TensorSource {
  return typeof x === 'object' && x !== null && typeof (x as TensorSource).tensor === 'function' && Array.isArray((x as TensorSource).names);
}

function isRecordOfTensors(x: unknown): x is Readonly<Record<string, TensorLike>> {
  if (typeof x !== 'object' || x === null || x instanceof Uint8Array || x instanceof URL) return false;
  const vals = Object.values(x);
  return vals.length === 0 ? !('read' in x) && !('store' in x) : vals.every((v) => typeof v === 'object' && v !== null && 'dtype' in v && 'shape' in v);
}

function bytesOf(t: TensorLike): Uint8Array {
  if ('bytes' in t && typeof t.bytes === 'function') return t.bytes();
  const d = (t as { data: ArrayBufferView }).data;
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

/** A record of tensors seen as a TensorSource. */
function fromRecord(rec: Readonly<Record<string, TensorLike>>, path: string): TensorSource {
  const views = new Map<string, TensorView>();
  for (const [name, t] of Object.entries(rec)) {
    const bytes = bytesOf(t);
    views.set(name, { name, dtype: t.dtype, shape: t.shape, byteLength: bytes.byteLength, bytes: () => bytes, toFloat32: () => toFloat32(t.dtype, bytes, name) });
  }
  return { format: 'tensors', path, names: [...views.keys()], metadata: null, info: (n) => views.get(n), tensor: async (n) => views.get(n)! };
}

async function open(side: DiffSide, label: string, opts: OpenTensorsOptions): Promise<TensorSource> {
  if (isTensorSource(side)) return side;
  if (isRecordOfTensors(side)) return fromRecord(side, label);
  resolveSource(side as Source); // refuses a bad source with the router's message before any I/O
  return openTensors(side as Source, opts);
}

const summary = (name: string, e: TensorEntry): TensorSummary => ({ name, dtype: e.dtype, shape: [...e.shape] });

function equalBytes(x: Uint8Array, y: Uint8Array): boolean {
  if (x.byteLength !== y.byteLength) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** max |a − b| over the elements both hold as finite numbers, and the count of non-finite mismatches. */
function valueDiff(a: Float32Array, b: Float32Array): { maxAbsDiff: number; nonFiniteMismatches: number } {
  let max = 0, bad = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i], y = b[i];
    if (x === y || (x !== x && y !== y)) continue;
    if (Number.isFinite(x) && Number.isFinite(y)) {
      const d = Math.abs(x - y);
      if (d > max) max = d;
    } else bad++;
  }
  return { maxAbsDiff: max, nonFiniteMismatches: bad };
}

/**
 * Compares two sets of weights. Each side is a path/URL/bytes/Store (any format
 * openTensors reads: safetensors, sharded, .pt), an opened TensorSource, or a
 * record name → tensor. Sources with a sidecar are verified as they are read.
 */
export async function diffTensors(a: DiffSide, b: DiffSide, opts: OpenTensorsOptions = {}): Promise<TensorDiff> {
  return underSignal(opts.signal, () => diffUnder(a, b, opts));
}

async function diffUnder(a: DiffSide, b: DiffSide, opts: OpenTensorsOptions): Promise<TensorDiff> {
  const [sa, sb] = await Promise.all([open(a, 'a', opts), open(b, 'b', opts)]);
  const inB = new Set(sb.names);
  const inA = new Set(sa.names);
  const out: TensorDiff = {
    identical: false,
    a: { path: sa.path, format: sa.format, tensors: sa.names.length },
    b: { path: sb.path, format: sb.format, tensors: sb.names.length },
    added: sb.names.filter((n) => !inA.has(n)).map((n) => summary(n, sb.info(n)!)),
    removed: sa.names.filter((n) => !inB.has(n)).map((n) => summary(n, sa.info(n)!)),
    changed: [],
    unchanged: 0,
  };
  for (const name of sa.names) {
    if (!inB.has(name)) continue;
    throwIfAborted(opts.signal);
    const ea = sa.info(name)!, eb = sb.info(name)!;
    const sameShape = ea.shape.length === eb.shape.length && ea.shape.every((d, i) => d === eb.shape[i]);
    const changes: ChangedTensor['changes'] = [];
    if (ea.dtype !== eb.dtype) changes.push('dtype');
    if (!sameShape) changes.push('shape');
    const [ta, tb] = await Promise.all([sa.tensor(name), sb.tensor(name)]);
    if (changes.length === 0 && !equalBytes(ta.bytes(), tb.bytes())) changes.push('bytes');
    if (changes.length === 0) {
      out.unchanged++;
      continue;
    }
    const c: ChangedTensor = { name, a: { dtype: ea.dtype, shape: [...ea.shape] }, b: { dtype: eb.dtype, shape: [...eb.shape] }, changes };
    const numel = (s: readonly number[]) => s.reduce((x, y) => x * y, 1);
    if (FLOAT.has(ea.dtype) && FLOAT.has(eb.dtype) && numel(ea.shape) === numel(eb.shape)) Object.assign(c, valueDiff(ta.toFloat32(), tb.toFloat32()));
    out.changed.push(c);
  }
  out.identical = out.added.length === 0 && out.removed.length === 0 && out.changed.length === 0;
  return out;
}

// Verified partial reads: `file.slice(name, [[10, 20]])` = rows 10–19, like
// safetensors' `get_slice(name)[10:20]`. One [start, end) per leading dimension;
// the dimensions after them are taken whole. A row-major slice is a set of byte
// runs inside the tensor; with chunk digests in the sidecar (sidecar.ts) only the
// chunks those runs touch are fetched — neighbours coalesced into one range
// request — and each chunk is verified on its own, so a changed byte elsewhere in
// the tensor does not fail this slice, and one inside it does (INTEGRITY).
// Loaded only by dynamic import. The entry, imported for no bindings, keeps a page's start code in one
// chunk when a bundler splits code (the lazy-module hint: scripts/check-imports.js).
import '../index.js';
import { CompatibilityError, IntegrityError, UnsupportedError } from '../errors.js';
import { sha256, toHex } from '../core/hash.js';
import { DTYPES } from '../types/dtype.js';
import type { TensorInfo } from '../types/tensor.js';
import type { SidecarChunks } from './sidecar.js';

/** One [start, end) per leading dimension, as `get_slice(name)[s0:e0, s1:e1]`. */
export type SliceRanges = ReadonlyArray<readonly [number, number]>;

/** Byte runs [start, end) relative to the tensor's first byte, in order, with the sliced shape. */
export interface SlicePlan {
  shape: number[];
  runs: Array<{ start: number; end: number }>;
  byteLength: number;
}

/** Checks `ranges` against the tensor's shape and returns the byte runs of the slice (SHAPE_MISMATCH naming what is wrong). */
export function planSlice(path: string, info: TensorInfo, ranges: SliceRanges): SlicePlan {
  const { name, shape } = info;
  const bad = (what: string, data?: unknown) => new CompatibilityError('SHAPE_MISMATCH', `${path}: cannot slice tensor '${name}' of shape [${shape.join(', ')}]: ${what}`, {
    path, tensor: name, detail: 'BAD_SLICE', data,
  });
  if (!Array.isArray(ranges) || ranges.length === 0 || ranges.length > shape.length) {
    throw bad(`expected 1 to ${shape.length} [start, end) pairs (one per leading dimension), found ${Array.isArray(ranges) ? ranges.length : typeof ranges}`, {
      expected: shape.length, found: Array.isArray(ranges) ? ranges.length : null,
    });
  }
  ranges.forEach((r, d) => {
    const ok = Array.isArray(r) && r.length === 2 && Number.isSafeInteger(r[0]) && Number.isSafeInteger(r[1]) && r[0] >= 0 && r[0] <= r[1] && r[1] <= shape[d];
    if (!ok) throw bad(`dimension ${d} has size ${shape[d]}; expected [start, end) with 0 ≤ start ≤ end ≤ ${shape[d]}, found ${JSON.stringify(r)}`, { dimension: d, expected: [0, shape[d]], found: r });
  });
  const bits = DTYPES[info.dtype].bits;
  // Bytes of one step along each dimension (row-major); the trailing block must be whole bytes.
  const inner = shape.slice(ranges.length).reduce((a, b) => a * b, 1) * bits;
  if (inner % 8 !== 0) throw new UnsupportedError(`${path}: a slice of tensor '${name}' (${info.dtype}) would not start on a byte boundary: slice fewer dimensions`, { path, tensor: name, detail: 'SLICE_NOT_BYTE_ALIGNED' });
  const strides: number[] = new Array(ranges.length);
  let stride = inner / 8;
  for (let d = ranges.length - 1; d >= 0; d--) {
    strides[d] = stride;
    stride *= shape[d];
  }
  const out = ranges.map(([s, e]) => e - s);
  const sliced = [...out, ...shape.slice(ranges.length)];
  const last = ranges.length - 1;
  const runLength = out[last] * strides[last];
  const runs: SlicePlan['runs'] = [];
  if (out.some((n) => n === 0) || runLength === 0) return { shape: sliced, runs, byteLength: 0 };
  // Every index of the dimensions before the last sliced one gives one contiguous run.
  const idx = ranges.slice(0, last).map(([s]) => s);
  for (;;) {
    let at = ranges[last][0] * strides[last];
    for (let d = 0; d < last; d++) at += idx[d] * strides[d];
    const prev = runs[runs.length - 1];
    if (prev && prev.end === at) prev.end += runLength;
    else runs.push({ start: at, end: at + runLength });
    let d = last - 1;
    while (d >= 0 && ++idx[d] === ranges[d][1]) idx[d] = ranges[d--][0];
    if (d < 0) break;
  }
  return { shape: sliced, runs, byteLength: runs.reduce((a, r) => a + r.end - r.start, 0) };
}

/** Byte ranges (relative to the tensor) to fetch: whole chunks covering the runs, neighbours merged; or the runs themselves, merged across gaps ≤ `gap`. */
export function fetchRanges(plan: SlicePlan, tensorBytes: number, chunkSize: number | null, gap: number): Array<{ start: number; end: number }> {
  const out: Array<{ start: number; end: number }> = [];
  for (const r of plan.runs) {
    const start = chunkSize ? Math.floor(r.start / chunkSize) * chunkSize : r.start;
    const end = chunkSize ? Math.min(tensorBytes, Math.ceil(r.end / chunkSize) * chunkSize) : r.end;
    const prev = out[out.length - 1];
    if (prev && start - prev.end <= (chunkSize ? 0 : gap)) prev.end = Math.max(prev.end, end);
    else out.push({ start, end });
  }
  return out;
}

/** Throws INTEGRITY naming the tensor and chunk unless every whole chunk in `bytes` (at tensor offset `at`) has its recorded digest. */
export function checkChunks(path: string, name: string, chunks: SidecarChunks, at: number, bytes: Uint8Array): void {
  for (let off = 0; off < bytes.length; off += chunks.size) {
    const i = (at + off) / chunks.size;
    const got = toHex(sha256(bytes.subarray(off, Math.min(bytes.length, off + chunks.size))));
    if (got !== chunks.sha256[i]) {
      throw new IntegrityError(`${path}: chunk ${i} of tensor '${name}' (tensor bytes ${at + off}–${Math.min(at + bytes.length, at + off + chunks.size)}) has SHA-256 ${got}, but the sidecar records ${chunks.sha256[i]}: its data was changed or corrupted`, {
        path, tensor: name, detail: 'CHUNK_HASH_MISMATCH', data: { chunk: i, expected: chunks.sha256[i], found: got },
      });
    }
  }
}

/** Copies the plan's runs out of fetched ranges (tensor-relative) into one contiguous buffer. */
export function assemble(plan: SlicePlan, fetched: Array<{ start: number; bytes: Uint8Array }>): Uint8Array {
  if (plan.runs.length === 1) {
    const r = plan.runs[0];
    const f = fetched.find((x) => x.start <= r.start && r.end <= x.start + x.bytes.length)!;
    return f.bytes.subarray(r.start - f.start, r.end - f.start);
  }
  const out = new Uint8Array(plan.byteLength);
  let o = 0, fi = 0;
  for (const r of plan.runs) {
    while (fetched[fi].start + fetched[fi].bytes.length < r.end) fi++;
    const f = fetched[fi];
    out.set(f.bytes.subarray(r.start - f.start, r.end - f.start), o);
    o += r.end - r.start;
  }
  return out;
}

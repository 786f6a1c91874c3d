// SHA-256 of named byte ranges of one byte source, in one sequential pass:
// the span they cover is read slice by slice and each slice feeds exactly the
// hashers whose ranges it touches. The single-threaded verifier, the hashing
// workers (over a file they read themselves, or over bytes handed to them) and
// the writer all hash tensors through this one function.
import { createSha256, sha256Async, toHex, type Hasher } from '../core/hash.js';
import { nameRecord } from '../name-record.js';
import { throwIfAborted } from '../types/operation.js';

/** A named range [start, end) of a byte source (absolute positions). */
export interface NamedRange {
  name: string;
  start: number;
  end: number;
}

export interface RangeHashOptions {
  /** Bytes per read. */
  slice: number;
  /** Where reading starts (default: the first range's start); bytes before a range are read but not hashed. */
  from?: number;
  /** Where reading ends (default: the last range's end). */
  to?: number;
  /** Fed every byte read, in order (e.g. the whole-file hash). */
  all?: Hasher;
  /** Called after each slice with its length. */
  onBytes?: (n: number) => void;
  /** Checked before each slice: an aborted signal stops the pass with its reason. */
  signal?: AbortSignal;
}

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/**
 * Hex SHA-256 of each range. Ranges must not overlap (safetensors offsets
 * never do); their order does not matter. `read(start, end)` returns exactly
 * those bytes; the view may be reused after the next call.
 */
export async function hashRanges(
  ranges: readonly NamedRange[],
  read: (start: number, end: number) => Uint8Array | Promise<Uint8Array>,
  opts: RangeHashOptions,
): Promise<Record<string, string>> {
  const out = nameRecord<string>();
  const order = ranges.filter((r) => {
    if (r.end > r.start) return true;
    out[r.name] = EMPTY_SHA256;
    return false;
  }).sort((a, b) => a.start - b.start);
  const from = opts.from ?? order[0]?.start ?? 0;
  const to = opts.to ?? order[order.length - 1]?.end ?? from;
  let ti = 0;
  let cur: Hasher | undefined;
  for (let off = from; off < to; off += opts.slice) {
    throwIfAborted(opts.signal);
    const end = Math.min(to, off + opts.slice);
    const bytes = await read(off, end);
    opts.all?.update(bytes);
    let p = off;
    while (ti < order.length && p < end) {
      const t = order[ti];
      if (t.start >= end) break;
      if (p < t.start) p = t.start;
      cur ??= createSha256();
      const stop = Math.min(end, t.end);
      cur.update(bytes.subarray(p - off, stop - off));
      p = stop;
      if (p === t.end) {
        out[t.name] = toHex(cur.digest());
        cur = undefined;
        ti++;
      }
    }
    opts.onBytes?.(end - off);
  }
  return out;
}

/** Where the bytes read in order go besides the tensors' hashers (the whole-file hash); may be async (a worker). */
export interface ByteSink {
  update(bytes: Uint8Array): unknown;
}

export interface SegmentHashOptions {
  /** Whole ranges are grouped into reads of at most this many bytes (a longer range is read alone, or streamed). */
  segment: number;
  /** Reads in flight at once (each a fresh buffer the caller owns). */
  inFlight: number;
  /** A range longer than this is read in `slice`-byte pieces through one hasher here instead of digested whole. */
  oneShotMax: number;
  /** Bytes per read of a streamed range and of the bytes between ranges. */
  slice: number;
  /** Where reading starts and ends (bytes outside every range go to `all` only). */
  from: number;
  to: number;
  /** Fed every byte of [from, to), in order. */
  all?: ByteSink;
  onBytes?: (n: number) => void;
  /** Checked before each read is used: an aborted signal stops the pass with its reason. */
  signal?: AbortSignal;
}

/**
 * Hex SHA-256 of each range, like hashRanges, for sources where a read is a
 * request (HTTP, object stores): [from, to) is read once, a few reads in
 * flight, in segments of whole ranges; each range that fits a segment is
 * digested in one call (sha256Async: WebCrypto where the runtime's rule says
 * so — browsers and workerd, natively and in a browser on its own thread —
 * else node:crypto here) while the next segments download, and every byte
 * also goes to `all` in order. So the per-range digests and the whole-file
 * hash share one download. Memory: at most `inFlight` segments plus the
 * digests not yet done for as many.
 */
export async function hashSegments(
  ranges: readonly NamedRange[],
  read: (start: number, end: number) => Promise<Uint8Array>,
  opts: SegmentHashOptions,
): Promise<Record<string, string>> {
  const out = nameRecord<string>();
  const order = ranges.filter((r) => {
    if (r.end > r.start) return true;
    out[r.name] = EMPTY_SHA256;
    return false;
  }).sort((a, b) => a.start - b.start);
  // The plan: reads in file order; each is a segment of whole ranges, a piece of one long range, or a gap.
  type Step = { start: number; end: number; whole: NamedRange[]; piece?: NamedRange };
  const steps: Step[] = [];
  const gap = (start: number, end: number) => {
    if (!opts.all) return;
    for (let s = start; s < end; s += opts.slice) steps.push({ start: s, end: Math.min(end, s + opts.slice), whole: [] });
  };
  let at = opts.from;
  for (const r of order) {
    if (r.start > at) gap(at, r.start);
    const last = steps[steps.length - 1];
    if (r.end - r.start > opts.oneShotMax) {
      for (let s = r.start; s < r.end; s += opts.slice) steps.push({ start: s, end: Math.min(r.end, s + opts.slice), whole: [], piece: r });
    } else if (last && !last.piece && last.whole.length && last.end === r.start && r.end - last.start <= opts.segment) {
      last.end = r.end;
      last.whole.push(r);
    } else steps.push({ start: r.start, end: r.end, whole: [r] });
    at = Math.max(at, r.end);
  }
  if (at < opts.to) gap(at, opts.to);

  const reads: Promise<Uint8Array>[] = [];
  const issue = (i: number) => {
    if (i < steps.length && !reads[i]) {
      reads[i] = read(steps[i].start, steps[i].end);
      reads[i].catch(() => {}); // awaited in order below; a later read's failure must not go unhandled meanwhile
    }
  };
  const digests: Promise<void>[][] = [];
  let streaming: Hasher | undefined;
  for (let i = 0; i < steps.length; i++) {
    for (let k = i; k < i + opts.inFlight; k++) issue(k);
    const step = steps[i];
    throwIfAborted(opts.signal);
    const bytes = await reads[i];
    throwIfAborted(opts.signal);
    delete reads[i];
    const mine: Promise<void>[] = [];
    for (const r of step.whole) {
      const view = bytes.subarray(r.start - step.start, r.end - step.start);
      const p = sha256Async(view).then((d) => void (out[r.name] = toHex(d)));
      p.catch(() => {}); // awaited below; must not count as unhandled meanwhile
      mine.push(p);
    }
    // After the digests are handed off (WebCrypto copies its input when called), so they run while this hashes.
    await opts.all?.update(bytes);
    if (step.piece) {
      streaming ??= createSha256();
      streaming.update(bytes);
      if (step.end === step.piece.end) {
        out[step.piece.name] = toHex(streaming.digest());
        streaming = undefined;
      }
    }
    digests[i] = mine;
    // Bounded: the digests of a segment `inFlight` back must be done before more is read.
    if (i >= opts.inFlight) await Promise.all(digests[i - opts.inFlight]);
    opts.onBytes?.(step.end - step.start);
  }
  await Promise.all(digests.flat());
  return out;
}

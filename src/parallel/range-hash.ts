// SHA-256 of named byte ranges of one byte source, in one sequential pass:
// the span they cover is read slice by slice and each slice feeds exactly the
// hashers whose ranges it touches. The single-threaded verifier, the hashing
// workers (over a file they read themselves, or over bytes handed to them) and
// the writer all hash tensors through this one function.
import { createSha256, toHex, type Hasher } from '../core/hash.js';
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

// SHA-256 of many byte ranges at once on worker threads: Node's
// worker_threads, or a Worker in Deno and browsers — the same pool of hashing
// workers that verification and writing use (src/parallel/pool.ts). One range
// is hashed by one worker: a range up to a piece is read here and lent to it,
// a longer one is streamed to it in pieces with at most two in flight (memory
// stays bounded whatever the range sizes); the ranges spread over the workers.
// Digests are those of sha256() on the same bytes.
import { sha256, createSha256 } from '../core/hash.js';
import type { ByteRange } from '../types/range.js';
import { CorruptError } from '../errors.js';
import { AUTO_WORKERS_FROM, PoolLease } from './lease.js';

/** Bytes to hash: in memory, or read on demand (e.g. a file or HTTP range reader). */
export type RangeSource = Uint8Array | ((start: number, end: number) => Promise<Uint8Array> | Uint8Array);

/** Options of hashRangesParallel: worker count and bytes per message. */
export interface ParallelHashOptions {
  /**
   * Worker threads to start (at most MAX_WORKERS and the number of ranges; 0 hashes on this thread). Default:
   * as verify decides — workers from AUTO_WORKERS_FROM.verify bytes on, as many as the cores (at most MAX_WORKERS).
   */
  workers?: number;
  /** Bytes per message to a worker (default 8 MiB). */
  pieceBytes?: number;
}

const DEFAULT_PIECE = 8 << 20;

/**
 * SHA-256 of each range of `source`, computed on `workers` threads; resolves
 * with the digests in the order of `ranges`. A function source is called with
 * (start, end) of each piece and must return exactly end - start bytes.
 */
export async function hashRangesParallel(
  source: RangeSource,
  ranges: readonly ByteRange[],
  opts: ParallelHashOptions = {},
): Promise<Uint8Array[]> {
  const piece = Math.max(64, Math.floor(opts.pieceBytes ?? DEFAULT_PIECE));
  checkRanges(source, ranges);
  const read = async (start: number, end: number): Promise<Uint8Array> => {
    const bytes = typeof source === 'function' ? await source(start, end) : source.subarray(start, end);
    if (bytes.length !== end - start) {
      throw new CorruptError(`range reader returned ${bytes.length} bytes for [${start}, ${end}); expected ${end - start}`, {
        detail: 'SHORT_READ', position: start,
      });
    }
    return bytes;
  };
  // The one pool policy (PoolLease): the workers asked for, capped at MAX_WORKERS, or by default a pool
  // only from AUTO_WORKERS_FROM.verify bytes on (below it, starting workers costs more than they save).
  const lease = new PoolLease({ workers: opts.workers === undefined ? undefined : Math.min(opts.workers, ranges.length) }, AUTO_WORKERS_FROM.verify);
  try {
    const pool = ranges.length === 0 ? null : await lease.get(ranges.reduce((a, r) => a + (r.end - r.start), 0));
    if (!pool) return await hashHere(ranges, read, piece);
    // One job per range (ranges may overlap); a reader's bytes may be its own, so they are copied before lending.
    const jobs = ranges.map(({ start, end }, i) => ({ from: start, to: end, ranges: [{ name: String(i), start, end }] }));
    const hex = await pool.hashJobs({ read, lends: false }, jobs, undefined, piece);
    return ranges.map((_, i) => fromHex(hex[String(i)]));
  } finally {
    lease.close();
  }
}

function fromHex(h: string): Uint8Array {
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function checkRanges(source: RangeSource, ranges: readonly ByteRange[]): void {
  const limit = typeof source === 'function' ? Number.MAX_SAFE_INTEGER : source.length;
  ranges.forEach(({ start, end }, i) => {
    if (!(Number.isSafeInteger(start) && Number.isSafeInteger(end) && start >= 0 && start <= end && end <= limit)) {
      throw new CorruptError(
        `byte range ${i} [${start}, ${end}) is not within the source (${limit === Number.MAX_SAFE_INTEGER ? 'a reader' : `${limit} bytes`}); ` +
          `ranges come from the header's data offsets: the header or the range list is wrong`,
        { detail: 'RANGE_OUT_OF_BOUNDS', position: typeof start === 'number' ? start : undefined },
      );
    }
  });
}

async function hashHere(ranges: readonly ByteRange[], read: (s: number, e: number) => Promise<Uint8Array>, piece: number) {
  const out: Uint8Array[] = [];
  for (const { start, end } of ranges) {
    if (end - start <= piece) {
      out.push(sha256(await read(start, end)));
      continue;
    }
    const h = createSha256();
    for (let off = start; off < end; off += piece) h.update(await read(off, Math.min(end, off + piece)));
    out.push(h.digest());
  }
  return out;
}


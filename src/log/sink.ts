// What a CircularLog hands its sink. One batch per write: the records
// appended since the previous write (every record reaches the sink in exactly
// one batch, in order), and the whole ring as a snapshot for sinks that keep
// "the last N records" (a file is replaced by it).
import type { LogRecord } from './record.js';

/** Why a write happened. Sinks may use it, e.g. the file sink fsyncs on the urgent ones. */
export type FlushReason =
  | 'interval'  // the flush interval elapsed
  | 'error'     // an ERROR or CRITICAL record
  | 'overflow'  // the ring was full of unwritten records: writing was the only way not to lose one
  | 'flush'     // flush() was called
  | 'close'     // close() was called
  | 'exit';     // the process (or page) is exiting

/** What a log hands its sink at once: the records as JSON lines, and why it writes now. */
export interface LogBatch {
  readonly reason: FlushReason;
  /** Records appended since the previous batch, oldest first, one JSON line each (no newline). */
  readonly lines: readonly string[];
  /** The same records parsed (computed on first call). */
  records(): LogRecord[];
  /** The whole ring, oldest first: the last `capacity` records as JSONL text ('' when empty). */
  snapshot(): string;
  /** Records lost before this batch because the sink failed or fell behind (0 almost always). */
  readonly lost: number;
}

/** Where a CircularLog writes its batches (file, OPFS, console, memory, or your own). */
export interface LogSink {
  /**
   * Writes one batch. A sink that returns nothing has finished when it returns (the file sink does:
   * that is what makes an ERROR durable before `error()` returns); one that returns a promise is
   * given no other batch until it settles. Throwing or rejecting keeps the batch's records for the
   * next write.
   */
  write(batch: LogBatch): void | Promise<void>;
  /** Called once by CircularLog.close(), after the last write. */
  close?(): void | Promise<void>;
}

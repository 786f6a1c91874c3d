// A sink that keeps everything it is given in memory: for tests, for showing a
// log in a UI, and as the simplest example of the LogSink contract.
import type { LogRecord } from './record.js';
import type { FlushReason, LogBatch, LogSink } from './sink.js';

/** A sink that keeps its batches in memory. */
export interface MemorySink extends LogSink {
  /** Every record received, in order (each exactly once). */
  readonly records: LogRecord[];
  /** The ring as of the latest write, as the file sink would have written it. */
  readonly snapshot: string;
  /** One entry per write. */
  readonly writes: ReadonlyArray<{ reason: FlushReason; records: number; lost: number }>;
  readonly closed: boolean;
}

/** A sink keeping what it is given in memory (tests, and reading a log back). */
export function memorySink(): MemorySink {
  const records: LogRecord[] = [];
  const writes: Array<{ reason: FlushReason; records: number; lost: number }> = [];
  let snapshot = '';
  let closed = false;
  return {
    records,
    writes,
    get snapshot() { return snapshot; },
    get closed() { return closed; },
    write(batch: LogBatch) {
      for (const r of batch.records()) records.push(r);
      snapshot = batch.snapshot();
      writes.push({ reason: batch.reason, records: batch.lines.length, lost: batch.lost });
    },
    close() { closed = true; },
  };
}

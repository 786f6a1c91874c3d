// Prints each record once, through the console method of its level, so
// browser devtools can filter by level and expand the fields object.
import type { LogRecord } from './record.js';
import type { LogBatch, LogSink } from './sink.js';

/** The part of `console` the sink uses; pass your own to redirect it. */
export interface ConsoleLike {
  debug(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

const METHOD = { DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error', CRITICAL: 'error' } as const;

/** A sink writing each record to the console (browsers, and anywhere without a file system). */
export function consoleSink(target: ConsoleLike = globalThis.console): LogSink {
  return {
    write(batch: LogBatch) {
      for (const r of batch.records()) {
        const { time, level, msg, ...fields } = r as LogRecord;
        const head = `${time} ${level} ${msg}`;
        if (Object.keys(fields).length > 0) target[METHOD[level]](head, fields);
        else target[METHOD[level]](head);
      }
    },
  };
}

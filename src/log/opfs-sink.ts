// A log file in the browser's Origin Private File System, replaced whole on
// each write like the file sink. It writes through the OPFS store, whose
// createWritable() stages a swap file and swaps it in on close(), so a reader
// never sees half a snapshot. OPFS is asynchronous from a page: an ERROR
// starts its write at once but cannot finish before error() returns.
import { OpfsStore } from '../store/opfs.js';
import { checkKey } from '../store/keys.js';
import { UnsupportedError } from '../errors.js';
import type { LogBatch, LogSink } from './sink.js';

/** `name` may contain folders ('logs/train.jsonl'); they are created as needed. */
export function opfsSink(name: string): LogSink {
  if (typeof (globalThis as { navigator?: { storage?: { getDirectory?: unknown } } }).navigator?.storage?.getDirectory !== 'function') {
    throw new UnsupportedError('opfsSink needs the Origin Private File System (navigator.storage.getDirectory); in Node or Deno use fileSink(path)', { detail: 'NO_OPFS' });
  }
  const key = checkKey(String(name), 'opfsSink');
  if (key === '' || key.endsWith('/')) {
    throw new UnsupportedError(`opfsSink: "${name}" is not a file name (use e.g. 'logs/train.jsonl')`, { detail: 'INVALID_OPTION' });
  }
  const store = new OpfsStore();
  const encoder = new TextEncoder();
  return {
    write(batch: LogBatch) {
      // The snapshot is taken now, synchronously: the ring as of this batch.
      return store.write(key, encoder.encode(batch.snapshot()));
    },
  };
}

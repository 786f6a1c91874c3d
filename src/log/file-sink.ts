// A log file that is always a complete snapshot of the ring: one JSON record
// per line, oldest first. Each write goes to a temporary file that is then
// renamed over the log, so a reader (or a crash) never sees half a file.
// Writes are synchronous on purpose: that is what lets an ERROR be on disk
// before error() returns, and what keeps two snapshots from racing to the
// rename — which is why this does not go through the (async) fs Store and its
// writeAtomic. One write per interval (of at most `capacity` lines) is the cost.
import { CheckpointError, IoError, UnsupportedError } from '../errors.js';
import { syncFs } from '../platform/node-fs.js';
import { isTempKey, tempKeyFor } from '../store/atomic.js';
import { makeDirsSync } from '../store/mkdirs.js';
import type { FlushReason, LogBatch, LogSink } from './sink.js';

type Fs = typeof import('node:fs');

/** Options of fileSink: when to fsync (by default for ERROR and above, close and exit). */
export interface FileSinkOptions {
  /**
   * When to fsync the file and its directory: 'urgent' (default: ERROR/CRITICAL, close, exit —
   * those survive power loss too), 'always', or 'never'. Without fsync a write still survives the
   * process being killed, since the kernel already holds it.
   */
  fsync?: 'urgent' | 'always' | 'never';
}

const URGENT: ReadonlySet<FlushReason> = new Set(['error', 'close', 'exit']);

/** The file sink (Node, Deno, Bun). Loads `node:fs` when called; in a browser use opfsSink(). */
export async function fileSink(path: string | URL, opts: FileSinkOptions = {}): Promise<LogSink> {
  const mode = opts.fsync ?? 'urgent';
  if (mode !== 'urgent' && mode !== 'always' && mode !== 'never') {
    throw new UnsupportedError(`fileSink: fsync must be 'urgent', 'always' or 'never'; got ${String(mode)}`, { detail: 'INVALID_OPTION' });
  }
  const { fs, fileURLToPath, dirname, basename, join } = await syncFs();
  const file = typeof path === 'string' ? path : fileURLToPath(path);
  const dir = dirname(file);
  try {
    makeDirsSync(fs, dir);
  } catch (e) {
    throw new IoError(`Cannot create the directory ${dir} for the log file ${file}: ${(e as Error).message}. Check the path and permissions.`, { path: file, cause: e });
  }

  removeLeftovers(fs, dir, basename(file), join);

  const syncDir = () => {
    // Makes the rename itself durable; not every platform can open a directory (Windows), which is fine.
    let fd = -1;
    try { fd = fs.openSync(dir, 'r'); fs.fsyncSync(fd); } catch { /* best effort */ } finally { if (fd >= 0) fs.closeSync(fd); }
  };

  return {
    write(batch: LogBatch) {
      const durable = mode === 'always' || (mode === 'urgent' && URGENT.has(batch.reason));
      const text = batch.snapshot();
      // A fresh name each time, in the form the stores recognise as a leftover of an interrupted write.
      const tmp = tempKeyFor(file);
      try {
        const fd = fs.openSync(tmp, 'w');
        try {
          fs.writeFileSync(fd, text);
          if (durable) fs.fsyncSync(fd);
        } finally {
          fs.closeSync(fd);
        }
        fs.renameSync(tmp, file);
      } catch (e) {
        try { fs.unlinkSync(tmp); } catch { /* it may not exist */ }
        if (e instanceof CheckpointError) throw e;
        throw new IoError(`Cannot write the log file ${file}: ${(e as Error).message}. Check free space and permissions; the records stay in the ring and are retried.`, { path: file, cause: e });
      }
      if (durable) syncDir();
    },
  };
}

/**
 * Temporary files of this log left by a process killed mid-write (`LOG.tmp-…`): removed when the log is
 * opened again. Only this log's own: other files in the folder are not touched. Best effort — a leftover
 * that cannot be removed is left for the next open.
 */
function removeLeftovers(fs: Fs, dir: string, base: string, join: (a: string, b: string) => string): void {
  const prefix = base + '.tmp-';
  let names: string[];
  try { names = fs.readdirSync(dir); } catch { return; }
  for (const n of names) {
    if (!n.startsWith(prefix) || !isTempKey(n)) continue;
    try { fs.unlinkSync(join(dir, n)); } catch { /* gone already, or not ours to remove */ }
  }
}


// A log file in the browser's Origin Private File System, replaced whole on
// each write like the file sink. A FileSystemWritableFileStream writes to a
// swap file and only replaces the original on close(), so a reader never sees
// half a snapshot. OPFS is asynchronous from a page: an ERROR starts its write
// at once but cannot finish before error() returns.
import { IoError, UnsupportedError } from '../errors.js';
import type { LogBatch, LogSink } from './sink.js';

/** `name` may contain folders ('logs/train.jsonl'); they are created as needed. */
export function opfsSink(name: string): LogSink {
  const storage = (globalThis as { navigator?: { storage?: { getDirectory?: () => Promise<FileSystemDirectoryHandle> } } })
    .navigator?.storage;
  if (typeof storage?.getDirectory !== 'function') {
    throw new UnsupportedError('opfsSink needs the Origin Private File System (navigator.storage.getDirectory); in Node or Deno use fileSink(path)');
  }
  const parts = String(name).split('/').filter((p) => p !== '');
  if (parts.length === 0 || parts.some((p) => p === '.' || p === '..')) {
    throw new UnsupportedError(`opfsSink: "${name}" is not a file name (use e.g. 'logs/train.jsonl', without . or ..)`, { detail: 'INVALID_OPTION' });
  }
  let handle: Promise<FileSystemFileHandle> | null = null;
  const open = async () => {
    let dir = await storage.getDirectory!();
    for (const p of parts.slice(0, -1)) dir = await dir.getDirectoryHandle(p, { create: true });
    return dir.getFileHandle(parts[parts.length - 1], { create: true });
  };
  return {
    async write(batch: LogBatch) {
      const text = batch.snapshot(); // taken now: the ring as of this batch
      try {
        const h = await (handle ??= open());
        const w = await (h as FileSystemFileHandle & { createWritable(): Promise<FileSystemWritableFileStream> }).createWritable();
        try {
          await w.write(text);
          await w.close();
        } catch (e) {
          await w.abort().catch(() => {});
          throw e;
        }
      } catch (e) {
        handle = null;
        throw new IoError(`Cannot write the OPFS log file "${name}": ${(e as Error).message}. Check the origin's storage quota.`, { path: name, cause: e });
      }
    },
  };
}

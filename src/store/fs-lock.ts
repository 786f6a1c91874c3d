// The fs store's cross-process lock: a lock file `KEY.lock` holding who took
// it ({ id, pid, host, at }). It is created by link(2) from a complete
// temporary file, so it appears whole or not at all, and only one process's
// link succeeds. A process killed while holding it cannot release it: a lock
// whose holder is gone (same host, pid not alive) or that is older than
// LOCK_STALE_MS is broken — renamed away, then checked to be the stale one.
// Two processes breaking the same stale lock at once can both go ahead; what
// the lock protects (registry.json) is rebuilt from the manifests on every
// update, so that rare case costs an update, never a checkpoint.
import { IoError } from '../errors.js';
import { tempSuffix } from './atomic.js';
import { hostName } from '../platform/node-fs.js';

type FsPromises = typeof import('node:fs/promises');

/** A holder this old is presumed dead even if its pid is alive (pid reuse, another host): the lock guards milliseconds of work. */
export const LOCK_STALE_MS = 30_000;
/** How long a writer waits for a live lock before giving up (IO, detail LOCKED). */
export const LOCK_WAIT_MS = 120_000;

interface Holder { id: string; pid: number; host: string; at: number }


function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code === 'EPERM';
  }
}

async function holderOf(fs: FsPromises, path: string): Promise<{ raw: string; holder: Holder | null; mtime: number } | null> {
  try {
    const [raw, st] = await Promise.all([fs.readFile(path, 'utf8'), fs.stat(path)]);
    let holder: Holder | null = null;
    try {
      const h = JSON.parse(raw);
      if (typeof h?.id === 'string' && Number.isSafeInteger(h.pid) && typeof h.host === 'string' && Number.isFinite(h.at)) holder = h;
    } catch {
      // Unreadable: judged by its age alone.
    }
    return { raw, holder, mtime: st.mtimeMs };
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return null;
    throw e;
  }
}

async function stale(h: { holder: Holder | null; mtime: number }): Promise<boolean> {
  const age = Date.now() - (h.holder?.at ?? h.mtime);
  if (age > LOCK_STALE_MS) return true;
  return h.holder !== null && h.holder.host === (await hostName()) && h.holder.pid !== process.pid && !alive(h.holder.pid);
}

/** Takes the lock file `path`; resolves to its release. */
export async function fsLock(fs: FsPromises, path: string): Promise<() => Promise<void>> {
  const me: Holder = { id: tempSuffix().slice(5), pid: process.pid, host: await hostName(), at: Date.now() };
  const body = JSON.stringify(me);
  const tmp = path + tempSuffix();
  await fs.writeFile(tmp, body);
  try {
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (let wait = 2; ; wait = Math.min(wait * 2, 100)) {
      try {
        await fs.link(tmp, path);
        break;
      } catch (e) {
        if ((e as { code?: string }).code !== 'EEXIST') throw e;
      }
      const h = await holderOf(fs, path);
      if (h && (await stale(h))) {
        await breakLock(fs, path, h.raw);
        continue;
      }
      if (h && Date.now() > deadline) {
        throw new IoError(`${path} has been held for ${Math.round((Date.now() - (h.holder?.at ?? h.mtime)) / 1000)} s by ${h.holder ? `process ${h.holder.pid} on ${h.holder.host || 'an unnamed host'}` : 'an unknown process'}: another writer is busy in this checkpoint root (remove the file if no writer is running)`, {
          path, detail: 'LOCKED',
        });
      }
      if (h) await new Promise((ok) => setTimeout(ok, wait));
    }
  } finally {
    await fs.rm(tmp, { force: true });
  }
  return async () => {
    const h = await holderOf(fs, path).catch(() => null);
    if (h?.raw === body) await fs.rm(path, { force: true });
  };
}

/** Moves a stale lock away; if what moved is not the lock judged stale (it was just retaken), puts it back. */
async function breakLock(fs: FsPromises, path: string, raw: string): Promise<void> {
  const moved = path + '.stale' + tempSuffix();
  try {
    await fs.rename(path, moved);
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return;
    throw e;
  }
  const got = await fs.readFile(moved, 'utf8').catch(() => raw);
  if (got !== raw) await fs.link(moved, path).catch(() => {});
  await fs.rm(moved, { force: true });
}

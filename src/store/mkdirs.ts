// mkdir -p, one level at a time, bounded by the path's depth. Node's own
// mkdir(dir, { recursive: true }) — sync and async — never returns for some
// paths under /proc (`/proc/x/y`, `/proc/self/fd/N/x`: it retries ENOENT for
// ever), which hung a log sink and a store write pointed there.

type Code = { code?: string };
const ENOTDIR = (d: string) => Object.assign(new Error(`ENOTDIR: ${d} exists and is not a directory`), { code: 'ENOTDIR' });

/** The parent of a '/'- (or '\\'-) separated path; the path itself at the root. */
function parentOf(p: string): string {
  const t = p.replace(/[\\/]+$/, '');
  const i = Math.max(t.lastIndexOf('/'), t.lastIndexOf('\\'));
  if (i < 0) return '.';
  return i === 0 ? t.slice(0, 1) : /^[A-Za-z]:$/.test(t.slice(0, i)) ? t.slice(0, i + 1) : t.slice(0, i);
}

export function makeDirsSync(fs: typeof import('node:fs'), dir: string): void {
  const missing: string[] = [];
  for (let d = dir; ; d = parentOf(d)) {
    try {
      if (fs.statSync(d).isDirectory()) break;
      throw ENOTDIR(d);
    } catch (e) {
      if ((e as Code).code !== 'ENOENT') throw e;
    }
    missing.push(d);
    if (parentOf(d) === d) break;
  }
  for (const d of missing.reverse()) {
    try { fs.mkdirSync(d); } catch (e) { if ((e as Code).code !== 'EEXIST') throw e; }
  }
}

export async function makeDirs(fs: typeof import('node:fs/promises'), dir: string): Promise<void> {
  const missing: string[] = [];
  for (let d = dir; ; d = parentOf(d)) {
    try {
      if ((await fs.stat(d)).isDirectory()) break;
      throw ENOTDIR(d);
    } catch (e) {
      if ((e as Code).code !== 'ENOENT') throw e;
    }
    missing.push(d);
    if (parentOf(d) === d) break;
  }
  for (const d of missing.reverse()) {
    try { await fs.mkdir(d); } catch (e) { if ((e as Code).code !== 'EEXIST') throw e; }
  }
}

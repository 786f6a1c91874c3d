// node:fs and node:os for the file store (store/fs-backend.ts, its lock) and the file sink, loaded on
// first use through the computed specifier of runtime.ts; NO_FS where the runtime has none.
import { UnsupportedError } from '../errors.js';
import { nodeModule, type Globals, type Modules } from './runtime.js';

/** A runtime with node: modules (Node, Deno, Bun). */
export function hasNodeModules(): boolean {
  const g = globalThis as Globals;
  return g.Deno !== undefined || typeof g.process?.versions?.node === 'string';
}

/** The typed error for a file path where there is no filesystem. */
export function noFs(cause?: unknown): UnsupportedError {
  return new UnsupportedError('file paths need Node, Deno or Bun (node:fs); in a browser use opfs:, idb:, memory: or http(s): sources', {
    detail: 'NO_FS', cause,
  });
}

/** Each module's load, kept once it succeeds (a failed one is tried again next time). */
const loads: Partial<Record<'node:fs' | 'node:fs/promises', Promise<unknown>>> = {};
function loadOnce<K extends 'node:fs' | 'node:fs/promises'>(name: K): Promise<Modules[K]> {
  if (!hasNodeModules()) return Promise.reject(noFs());
  return (loads[name] ??= nodeModule(name).catch((e) => {
    delete loads[name];
    throw noFs(e);
  })) as Promise<Modules[K]>;
}

/** node:fs/promises, loaded once; NO_FS where the runtime has none. */
export function fsPromises(): Promise<Modules['node:fs/promises']> {
  return loadOnce('node:fs/promises');
}

/** node:fs (its synchronous calls: a hashing worker, which may block, reads with them), loaded once; NO_FS where the runtime has none. */
export function fsSync(): Promise<Modules['node:fs']> {
  return loadOnce('node:fs');
}

/** node:fs and the two path helpers the file sink needs. */
export async function syncFs(): Promise<{ fs: Modules['node:fs']; fileURLToPath(u: URL): string; dirname(p: string): string; basename(p: string): string; join(a: string, b: string): string }> {
  if (!hasNodeModules()) {
    throw new UnsupportedError('fileSink needs Node, Deno or Bun (it writes with node:fs); in a browser use opfsSink(name) or consoleSink()');
  }
  const [fs, url, path] = await Promise.all([nodeModule('node:fs'), nodeModule('node:url'), nodeModule('node:path')]);
  return { fs, fileURLToPath: url.fileURLToPath, dirname: path.dirname, basename: path.basename, join: path.join };
}

let host: Promise<string> | undefined;
/** This machine's host name ('' where unknown): tells a lock file's holder on this host from one elsewhere. */
export function hostName(): Promise<string> {
  return (host ??= hasNodeModules() ? nodeModule('node:os').then((os) => os.hostname(), () => '') : Promise.resolve(''));
}

// What safeckpt takes from the runtime beyond the web platform: node:fs,
// node:os and worker_threads (Node, Deno, Bun), and workers started from code
// text. Each node: module is loaded on first use through a computed specifier
// (nodeModule) that bundlers do not follow — as hash-engines.ts loads
// node:crypto:
// a browser or worker bundle made with any bundler's default options has no
// node: import to resolve (issue #12: esbuild refuses them, vite and webpack
// warn), and plain ES modules served to a browser work too. Export conditions
// or package.json "imports" would do the same for bundlers, but break the
// unbundled uses: a page importing dist/ directly, Deno running a file that
// imports dist/ by path.
import { UnsupportedError } from '../errors.js';

type Modules = {
  'node:fs': typeof import('node:fs');
  'node:fs/promises': typeof import('node:fs/promises');
  'node:url': typeof import('node:url');
  'node:path': typeof import('node:path');
  'node:os': typeof import('node:os');
  'node:worker_threads': typeof import('node:worker_threads');
};

/** A node: module, loaded at run time; never seen by a bundler (the specifier is computed). */
function nodeModule<K extends keyof Modules>(name: K): Promise<Modules[K]> {
  const specifier: string = name;
  return import(/* webpackIgnore: true */ /* @vite-ignore */ specifier) as Promise<Modules[K]>;
}

type Globals = { Deno?: unknown; process?: { versions?: { node?: string } } };

/** Node itself (and Bun, which runs Node's worker_threads): not Deno, whose process object is a shim. */
export function isNode(): boolean {
  const g = globalThis as Globals;
  return g.Deno === undefined && typeof g.process?.versions?.node === 'string';
}

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

let fsp: Promise<Modules['node:fs/promises']> | undefined;
/** node:fs/promises, loaded once; NO_FS where the runtime has none. */
export function fsPromises(): Promise<Modules['node:fs/promises']> {
  if (!hasNodeModules()) return Promise.reject(noFs());
  return (fsp ??= nodeModule('node:fs/promises').catch((e) => {
    fsp = undefined;
    throw noFs(e);
  }));
}

let fss: Promise<Modules['node:fs']> | undefined;
/** node:fs (its synchronous calls: a hashing worker, which may block, reads with them), loaded once; NO_FS where the runtime has none. */
export function fsSync(): Promise<Modules['node:fs']> {
  if (!hasNodeModules()) return Promise.reject(noFs());
  return (fss ??= nodeModule('node:fs').catch((e) => {
    fss = undefined;
    throw noFs(e);
  }));
}

/** node:fs and the two path helpers the file sink needs. */
export async function syncFs(): Promise<{ fs: Modules['node:fs']; fileURLToPath(u: URL): string; dirname(p: string): string; basename(p: string): string; join(a: string, b: string): string }> {
  if (!hasNodeModules()) {
    throw new UnsupportedError('fileSink needs Node, Deno or Bun (it writes with node:fs); in a browser use opfsSink(name) or consoleSink()');
  }
  const [fs, url, path] = await Promise.all([nodeModule('node:fs'), nodeModule('node:url'), nodeModule('node:path')]);
  return { fs, fileURLToPath: url.fileURLToPath, dirname: path.dirname, basename: path.basename, join: path.join };
}

/** Processor cores, for the hashing pool. */
let host: Promise<string> | undefined;
/** This machine's host name ('' where unknown): tells a lock file's holder on this host from one elsewhere. */
export function hostName(): Promise<string> {
  return (host ??= hasNodeModules() ? nodeModule('node:os').then((os) => os.hostname(), () => '') : Promise.resolve(''));
}

export async function coreCount(): Promise<number> {
  const n = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
  if (typeof n === 'number' && n > 0) return n;
  if (isNode()) {
    try {
      const os = await nodeModule('node:os');
      return os.availableParallelism?.() ?? os.cpus().length;
    } catch {
      // fall through
    }
  }
  return 1;
}

/** A started worker: messages in, `terminate()` to stop it. */
export interface WorkerEndpoint {
  post(m: unknown, transfer?: Transferable[]): void;
  terminate(): void;
}

/** Whether this runtime can start workers from code text. */
export function workersAvailable(): boolean {
  return isNode() || (typeof Worker === 'function' && typeof Blob === 'function');
}

/**
 * Starts a worker running the ES module `text`: a worker_threads Worker from a
 * data: URL in Node (a Blob cannot be a Node worker), a module Worker from a
 * Blob URL in browsers and Deno.
 */
export async function startWorker(text: string, onMessage: (m: unknown) => void, onFail: (e: Error) => void): Promise<WorkerEndpoint> {
  if (isNode()) {
    const { Worker } = await nodeModule('node:worker_threads');
    const w = new Worker(new URL('data:text/javascript,' + encodeURIComponent(text)));
    w.unref(); // a pool someone forgot to close must not keep the process alive
    w.on('message', onMessage);
    w.on('error', onFail);
    w.on('exit', (code) => onFail(new Error(`hashing worker exited (code ${code})`)));
    return { post: (m, t) => w.postMessage(m, t as never), terminate: () => void w.terminate() };
  }
  if (typeof Worker !== 'function' || typeof Blob !== 'function' || typeof URL.createObjectURL !== 'function') {
    throw new Error('this runtime has no module Workers');
  }
  const url = URL.createObjectURL(new Blob([text], { type: 'text/javascript' }));
  const w = new Worker(url, { type: 'module' });
  w.onmessage = (e) => {
    if ((e.data as { op?: string })?.op === 'ready') URL.revokeObjectURL(url);
    onMessage(e.data);
  };
  w.onerror = (e) => {
    e.preventDefault?.();
    onFail(new Error(`hashing worker failed: ${e.message}`));
  };
  return { post: (m, t) => w.postMessage(m, t ?? []), terminate: () => w.terminate() };
}

/** Inside a worker that startWorker() started: how it receives and answers messages. */
export async function workerPort(): Promise<{ post(m: unknown, t?: Transferable[]): void; listen(f: (m: unknown) => void): void }> {
  if (isNode()) {
    const { parentPort } = await nodeModule('node:worker_threads');
    return { post: (m, t) => parentPort!.postMessage(m, t as never), listen: (f) => parentPort!.on('message', f) };
  }
  const g = globalThis as unknown as { postMessage(m: unknown, t?: Transferable[]): void; onmessage: ((e: MessageEvent) => void) | null };
  return { post: (m, t) => g.postMessage(m, t), listen: (f) => (g.onmessage = (e) => f(e.data)) };
}

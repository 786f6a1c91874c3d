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
// This file holds the probes and the loader, which a page uses at start; what only lazily loaded code uses
// has its own file, so that a page ships it with that code: node-fs.ts (the file store, the file sink) and
// workers.ts (the hashing pool, the commit worker).
export type Modules = {
  'node:fs': typeof import('node:fs');
  'node:fs/promises': typeof import('node:fs/promises');
  'node:url': typeof import('node:url');
  'node:path': typeof import('node:path');
  'node:os': typeof import('node:os');
  'node:worker_threads': typeof import('node:worker_threads');
};

/** A node: module, loaded at run time; never seen by a bundler (the specifier is computed). */
export function nodeModule<K extends keyof Modules>(name: K): Promise<Modules[K]> {
  const specifier: string = name;
  return import(/* webpackIgnore: true */ /* @vite-ignore */ specifier) as Promise<Modules[K]>;
}

export type Globals = { Deno?: unknown; process?: { versions?: { node?: string } } };

/** Node itself (and Bun, which runs Node's worker_threads): not Deno, whose process object is a shim. */
export function isNode(): boolean {
  const g = globalThis as Globals;
  return g.Deno === undefined && typeof g.process?.versions?.node === 'string';
}

/** Processor cores, for the hashing pool. */
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

// An asynchronous save's commit on a worker thread (Node, Deno, Bun; a
// checkpoint root on the file system, given as a path or file: URL).
//
// A training loop yields to the event loop about once a step (fit() between
// batches), and a commit run on that thread needs a turn for every write,
// fsync and rename it awaits: measured on a 256 MiB model + Adam (768 MiB of
// state) at load ~30, a save took 94 s to commit while training went on
// against 17.6 s for a synchronous save, so the loop waited for it at the next
// save anyway (BENCHMARKS.md, async-save). On a worker the commit runs at the
// disk's pace. It is the same commit code (save.ts `commit`), with the same
// writes, fsyncs and renames in the same order, so a crash leaves the same
// states; saves still commit one at a time in call order (the root's queue
// waits for this one's reply). The captured values travel by transfer where
// the capture owns them (WASM's pooled buffers, handed back for the next
// capture), by copy otherwise. Anything a worker cannot take — an AbortSignal,
// onProgress, custom adapters, a Store object, a CryptoKey — keeps the commit
// on this thread, as does a worker that fails to start.
import { IoError } from '../errors.js';
import { errorFromJSON } from '../error-json.js';
import type { Fields, Logger } from '../log/logger.js';
import { isNode, type WorkerEndpoint } from '../platform/runtime.js';
import type { Dest } from '../store/resolve.js';
import type { MacKey } from '../format/signed-json.js';
import type { RetentionPolicy } from './retention.js';
import type { Captured, CheckpointInfo, SaveOptions } from './save.js';

type Globals = { Deno?: unknown };
type WorkerThreads = typeof import('node:worker_threads');
let workerThreads: WorkerThreads | undefined;

/** A node: module, loaded at run time; never seen by a bundler (the specifier is computed, as platform/runtime.ts does). */
function nodeModule<T>(name: string): Promise<T> {
  const specifier: string = name;
  return import(/* webpackIgnore: true */ /* @vite-ignore */ specifier) as Promise<T>;
}

/**
 * Loads what startModuleWorker needs, so that it can then start a worker without yielding to the event
 * loop (the training thread may stay busy once the save returns). False where module workers cannot
 * start: not Node, Deno or Bun, or `url` is not a file that exists (a bundle may carry the file: URL of
 * where its source was).
 */
async function moduleWorkersReady(url: URL): Promise<boolean> {
  if (url.protocol !== 'file:') return false;
  if (!isNode() && !((globalThis as Globals).Deno !== undefined && typeof Worker === 'function')) return false;
  try {
    await (await nodeModule<typeof import('node:fs/promises')>('node:fs/promises')).access(url);
    if (isNode()) workerThreads ??= await nodeModule<WorkerThreads>('node:worker_threads');
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts a worker running the ES module file `url` (unbundled), synchronously, once moduleWorkersReady(url)
 * resolved true: worker_threads in Node and Bun, a module Worker in Deno. It keeps the process alive until
 * it is terminated; messages posted at once wait until it listens.
 */
function startModuleWorker(url: URL, onMessage: (m: unknown) => void, onFail: (e: Error) => void): WorkerEndpoint {
  if (isNode()) {
    const w = new workerThreads!.Worker(url);
    w.on('message', onMessage);
    w.on('error', onFail);
    w.on('exit', (code) => onFail(new Error(`worker exited (code ${code})`)));
    return { post: (m, t) => w.postMessage(m, t as never), terminate: () => void w.terminate() };
  }
  const w = new Worker(url, { type: 'module' });
  w.onmessage = (e) => onMessage(e.data);
  w.onerror = (e) => {
    e.preventDefault?.();
    onFail(new Error(`worker failed: ${e.message}`));
  };
  return { post: (m, t) => w.postMessage(m, t ?? []), terminate: () => w.terminate() };
}

/** What the main thread sends: the root as given, the captured state (no Store, no adapter object), the options a worker can take. */
export interface CommitRequest {
  root: string;
  c: Omit<Captured, 'store' | 'adapter'>;
  opts: { key?: MacKey; keyId?: string; retention?: RetentionPolicy };
  /** Buffers transferred with the request, sent back with the reply (the capture's pool). */
  pooled: ArrayBuffer[];
}

/** A log call made on the worker, replayed through the caller's logger. */
export type LogCall = [keyof Logger, string, Fields | undefined];

export type CommitReply =
  | { op: 'done'; info: CheckpointInfo; records: LogCall[]; pooled: ArrayBuffer[] }
  | { op: 'error'; error: Record<string, unknown>; records: LogCall[]; pooled: ArrayBuffer[] };

/**
 * This package's commit-worker.js beside this file, where that is a file (dist/ run unbundled): null in a
 * bundle or a runtime without import.meta.url. Written so bundlers do not take it for an asset to emit
 * (`new URL('literal', import.meta.url)` is their pattern for one).
 */
function workerUrl(): URL | null {
  const file = WORKER_FILE;
  try {
    const at = import.meta.url;
    return typeof at === 'string' ? new URL(file, at) : null;
  } catch {
    return null;
  }
}
const WORKER_FILE = './commit-worker.js';
/** Whether this realm can start the commit worker (checked once). */
let workersReady: Promise<boolean> | undefined;

/**
 * The root as a worker can resolve it when this save may commit off the training thread, else null.
 * Awaited before the capture: the worker module's loader is ready, so the commit's worker starts
 * without this thread yielding.
 */
export async function offThreadRoot(root: Dest, storeKind: string, opts: SaveOptions): Promise<string | null> {
  if (storeKind !== 'fs' || !(typeof root === 'string' || root instanceof URL)) return null;
  if (opts.signal || opts.onProgress || opts.adapters?.length) return null;
  if (opts.key !== undefined && typeof opts.key !== 'string' && !(opts.key instanceof Uint8Array)) return null;
  const url = workerUrl();
  if (url === null) return null;
  workersReady ??= moduleWorkersReady(url);
  if (!(await workersReady)) return null;
  return typeof root === 'string' ? root : root.href;
}

/**
 * Commits `c` on a worker started now (synchronously: nothing here waits for this thread to yield).
 * Resolves with the result and the transferred buffers handed back; null when the worker could not
 * be started (nothing was sent: the caller commits on this thread).
 */
export function commitOffThread(root: string, c: Captured, opts: SaveOptions, pooled: ArrayBuffer[], log: Logger): Promise<{ info: CheckpointInfo; pooled: ArrayBuffer[] }> | null {
  const { store: _store, adapter: _adapter, ...data } = c;
  let resolve!: (r: { info: CheckpointInfo; pooled: ArrayBuffer[] }) => void, reject!: (e: Error) => void;
  const result = new Promise<{ info: CheckpointInfo; pooled: ArrayBuffer[] }>((a, b) => ((resolve = a), (reject = b)));
  let settled = false;
  let ep: ReturnType<typeof startModuleWorker> | undefined;
  const settle = (f: () => void) => {
    if (settled) return;
    settled = true;
    ep?.terminate();
    f();
  };
  const onMessage = (m: unknown) => {
    const r = m as CommitReply;
    for (const [level, msg, fields] of r.records ?? []) log[level]?.(msg, fields);
    if (r.op === 'done') settle(() => resolve({ info: r.info, pooled: r.pooled }));
    else settle(() => reject(errorFromJSON(r.error, 'checkpoint writer thread')));
  };
  const onFail = (e: Error) => settle(() => reject(new IoError(`the checkpoint writer thread failed while saving step ${c.step}: ${e.message} (the previous checkpoint stays LATEST)`, { detail: 'WORKER', cause: e })));
  try {
    ep = startModuleWorker(workerUrl()!, onMessage, onFail);
  } catch {
    return null;
  }
  const request: CommitRequest = { root, c: data, opts: { key: opts.key, keyId: opts.keyId, retention: opts.retention }, pooled };
  try {
    ep.post(request, pooled);
  } catch {
    // Not sent (a value that cannot be cloned): nothing was transferred, the caller commits here.
    settled = true;
    ep.terminate();
    return null;
  }
  return result;
}

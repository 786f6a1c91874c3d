// Workers started from code text (the hashing pool, parallel/pool.ts; the checkpoint commit worker's
// port), for Node's worker_threads and the web's module Workers alike.
import { isNode, nodeModule, type WorkerEndpoint } from './runtime.js';

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

// SHA-256 of many byte ranges at once on worker threads: Node's
// worker_threads, or a Worker in Deno and browsers. One range is hashed by one
// worker, streamed to it in pieces with at most two pieces in flight per
// worker (memory stays bounded whatever the range sizes); the ranges spread
// over the workers. A worker hashes with node:crypto where the runtime has it,
// else with its own instance of the WASM core (compiled from the same bytes).
// Digests are those of sha256() on the same bytes.
import { coreWasmBytes } from './wasm.js';
import { sha256, createSha256 } from './hash.js';
import type { ByteRange } from '../store/store.js';
import { CheckpointError, CorruptError } from '../errors.js';

/** Bytes to hash: in memory, or read on demand (e.g. a file or HTTP range reader). */
export type RangeSource = Uint8Array | ((start: number, end: number) => Promise<Uint8Array> | Uint8Array);

export interface ParallelHashOptions {
  /** Worker threads to start (default: the processor count, at most the number of ranges; 0 hashes on this thread). */
  workers?: number;
  /** Bytes per message to a worker (default 8 MiB). */
  pieceBytes?: number;
}

const DEFAULT_PIECE = 8 << 20;
/** Pieces sent to a worker before it acknowledges one: enough to keep it busy, few enough to bound memory. */
const IN_FLIGHT = 2;

/**
 * SHA-256 of each range of `source`, computed on `workers` threads; resolves
 * with the digests in the order of `ranges`. A function source is called with
 * (start, end) of each piece and must return exactly end - start bytes.
 */
export async function hashRangesParallel(
  source: RangeSource,
  ranges: readonly ByteRange[],
  opts: ParallelHashOptions = {},
): Promise<Uint8Array[]> {
  const piece = Math.max(64, Math.floor(opts.pieceBytes ?? DEFAULT_PIECE));
  checkRanges(source, ranges);
  const read = async (start: number, end: number): Promise<Uint8Array> => {
    const bytes = typeof source === 'function' ? await source(start, end) : source.subarray(start, end);
    if (bytes.length !== end - start) {
      throw new CorruptError(`range reader returned ${bytes.length} bytes for [${start}, ${end}); expected ${end - start}`, {
        detail: 'SHORT_READ', position: start,
      });
    }
    return bytes;
  };
  const wanted = opts.workers ?? hardwareThreads();
  const count = Math.max(0, Math.min(wanted, ranges.length));
  const spawn = count > 0 ? await workerFactory() : null;
  if (!spawn) return hashHere(ranges, read, piece);

  const workers = await Promise.all(Array.from({ length: count }, () => startWorker(spawn)));
  const out: Uint8Array[] = new Array(ranges.length);
  let next = 0;
  try {
    await Promise.all(workers.map(async (w) => {
      while (next < ranges.length) {
        const i = next++;
        out[i] = await w.hash(ranges[i], read, piece);
      }
    }));
  } finally {
    for (const w of workers) w.terminate();
  }
  return out;
}

function checkRanges(source: RangeSource, ranges: readonly ByteRange[]): void {
  const limit = typeof source === 'function' ? Number.MAX_SAFE_INTEGER : source.length;
  ranges.forEach(({ start, end }, i) => {
    if (!(Number.isSafeInteger(start) && Number.isSafeInteger(end) && start >= 0 && start <= end && end <= limit)) {
      throw new CorruptError(
        `byte range ${i} [${start}, ${end}) is not within the source (${limit === Number.MAX_SAFE_INTEGER ? 'a reader' : `${limit} bytes`}); ` +
          `ranges come from the header's data offsets: the header or the range list is wrong`,
        { detail: 'RANGE_OUT_OF_BOUNDS', position: typeof start === 'number' ? start : undefined },
      );
    }
  });
}

async function hashHere(ranges: readonly ByteRange[], read: (s: number, e: number) => Promise<Uint8Array>, piece: number) {
  const out: Uint8Array[] = [];
  for (const { start, end } of ranges) {
    if (end - start <= piece) {
      out.push(sha256(await read(start, end)));
      continue;
    }
    const h = createSha256();
    for (let off = start; off < end; off += piece) h.update(await read(off, Math.min(end, off + piece)));
    out.push(h.digest());
  }
  return out;
}

function hardwareThreads(): number {
  const n = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
  return typeof n === 'number' && n > 0 ? n : 2;
}

/** A started worker's message port, whichever runtime made it. */
interface Port {
  post(msg: unknown, transfer?: ArrayBuffer[]): void;
  onMessage(fn: (msg: WorkerReply) => void): void;
  onError(fn: (e: unknown) => void): void;
  terminate(): void;
}
type WorkerReply = { type: 'ready' } | { type: 'ack' } | { type: 'digest'; digest: Uint8Array } | { type: 'error'; message: string };

/** How this runtime starts a worker from source text, or null when it cannot. */
async function workerFactory(): Promise<((code: string) => Port) | null> {
  const g = globalThis as { process?: { versions?: { node?: string } }; Deno?: unknown; Worker?: unknown };
  if (typeof g.process?.versions?.node === 'string' && g.Deno === undefined) {
    try {
      const specifier = 'node:worker_threads';
      const { Worker } = (await import(/* @vite-ignore */ /* webpackIgnore: true */ specifier)) as {
        Worker: new (code: string, o: { eval: true }) => {
          postMessage(m: unknown, t?: ArrayBuffer[]): void;
          on(ev: string, fn: (x: never) => void): void;
          unref(): void;
          terminate(): Promise<number>;
        };
      };
      return (code) => {
        const w = new Worker(`const { parentPort } = require('node:worker_threads');\n${code}\nstart(parentPort);`, { eval: true });
        return {
          post: (m, t) => w.postMessage(m, t),
          onMessage: (fn) => w.on('message', fn),
          onError: (fn) => w.on('error', fn),
          terminate: () => void w.terminate(),
        };
      };
    } catch {
      return null;
    }
  }
  if (typeof g.Worker !== 'function' || typeof Blob !== 'function' || typeof URL.createObjectURL !== 'function') return null;
  return (code) => {
    const url = URL.createObjectURL(new Blob([`${code}\nstart(self);`], { type: 'text/javascript' }));
    const w = new Worker(url, { type: 'module' });
    URL.revokeObjectURL(url);
    return {
      post: (m, t) => w.postMessage(m, t ?? []),
      onMessage: (fn) => w.addEventListener('message', (e) => fn((e as MessageEvent).data)),
      onError: (fn) => w.addEventListener('error', (e) => { e.preventDefault(); fn((e as ErrorEvent).message ?? e); }),
      terminate: () => w.terminate(),
    };
  };
}

let wasmBytes: Uint8Array | undefined;

async function startWorker(spawn: (code: string) => Port) {
  const port = spawn(WORKER_SOURCE);
  let waiting: { resolve: (m: WorkerReply) => void; reject: (e: unknown) => void } | null = null;
  const replies: WorkerReply[] = [];
  let failure: unknown = null;
  const fail = (e: unknown) => {
    failure ??= new CheckpointError('IO', `hash worker failed: ${e instanceof Error ? e.message : String(e)}`, { detail: 'WORKER', cause: e });
    waiting?.reject(failure);
    waiting = null;
  };
  port.onMessage((m) => {
    if (m.type === 'error') return fail(new Error(m.message));
    if (waiting) {
      const w = waiting;
      waiting = null;
      w.resolve(m);
    } else replies.push(m);
  });
  port.onError(fail);
  const reply = () => {
    if (failure) return Promise.reject(failure);
    const m = replies.shift();
    if (m) return Promise.resolve(m);
    return new Promise<WorkerReply>((resolve, reject) => { waiting = { resolve, reject }; });
  };
  wasmBytes ??= coreWasmBytes();
  port.post({ type: 'init', wasm: wasmBytes });
  await reply();

  return {
    terminate: () => port.terminate(),
    /** Streams one range to the worker; resolves with its digest. */
    async hash({ start, end }: ByteRange, read: (s: number, e: number) => Promise<Uint8Array>, piece: number): Promise<Uint8Array> {
      let inFlight = 0;
      port.post({ type: 'begin' });
      for (let off = start; off < end; off += piece) {
        // A copy the worker owns: posting a view would clone its whole underlying buffer.
        const bytes = (await read(off, Math.min(end, off + piece))).slice();
        if (inFlight === IN_FLIGHT) {
          await reply();
          inFlight--;
        }
        port.post({ type: 'update', bytes }, [bytes.buffer as ArrayBuffer]);
        inFlight++;
      }
      port.post({ type: 'end' });
      for (;;) {
        const m = await reply();
        if (m.type === 'digest') return new Uint8Array(m.digest);
      }
    },
  };
}

// The worker: plain JS, self-contained (it cannot import the library: a
// bundled or blob-loaded worker has no module path to import from).
// `start(port)` is given the message port: parentPort (Node) or self (web).
const WORKER_SOURCE = `
function start(port) {
  const send = (m) => port.postMessage(m);
  const listen = (fn) => port.addEventListener ? port.addEventListener('message', (e) => fn(e.data)) : port.on('message', fn);
  let engine = null, hasher = null, queue = Promise.resolve();
  async function init(wasm) {
    try {
      const g = globalThis;
      if (g.Deno || (g.process && g.process.versions && g.process.versions.node)) {
        const { createHash } = await import('node:crypto');
        engine = () => { const h = createHash('sha256'); return { update: (b) => h.update(b), digest: () => new Uint8Array(h.digest()) }; };
        return;
      }
    } catch {}
    const c = (await WebAssembly.instantiate(wasm, {})).instance.exports;
    engine = () => {
      c.sha256Init();
      return {
        update(b) {
          for (let off = 0; off < b.length; off += 65536) {
            const n = Math.min(65536, b.length - off);
            const p = c.reserve(n);
            if (p === 0) throw new Error('core could not reserve scratch memory');
            new Uint8Array(c.memory.buffer, p, n).set(b.subarray(off, off + n));
            c.sha256Update(p, n);
          }
        },
        digest() { c.sha256Final(); return new Uint8Array(c.memory.buffer, c.sha256Digest(), 32).slice(); },
      };
    };
  }
  listen((m) => {
    queue = queue.then(async () => {
      if (m.type === 'init') { await init(m.wasm); send({ type: 'ready' }); }
      else if (m.type === 'begin') hasher = engine();
      else if (m.type === 'update') { hasher.update(m.bytes); send({ type: 'ack' }); }
      else if (m.type === 'end') { send({ type: 'digest', digest: hasher.digest() }); hasher = null; }
    }).catch((e) => send({ type: 'error', message: String(e && e.stack || e) }));
  });
}
`;

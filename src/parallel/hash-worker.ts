// The hashing worker. This module is not loaded from dist/ at run time:
// scripts/build.js bundles it (with the hash engines and the fs store) into
// one ES module whose text is embedded in worker-source.ts, and the pool
// starts it from that text — so it is found the same way in Node, Deno, a
// browser and any bundle, with no file next to the code to lose.
import { availableHashEngines, setHashEngine, ready, type HashEngineName } from '../core/hash-engines.js';
import { createSha256, toHex, type Hasher } from '../core/hash.js';
import { chunkHasher, type ChunkHasher } from '../core/chunk-hash.js';
import { hashRanges, type NamedRange } from './range-hash.js';
import { errorToJSON } from '../error-json.js';
import { FsBackend } from '../store/fs-backend.js';
import type { WorkerReply, WorkerRequest } from './protocol.js';
import { workerPort } from '../platform/workers.js';

type Post = (m: WorkerReply, transfer?: Transferable[]) => void;

const streams = new Map<number, { h: Hasher; chunks?: ChunkHasher }>();
/** Memory shared with the pool by id (a SharedFeed's slots). */
const shared = new Map<number, { buffer: SharedArrayBuffer; slotBytes: number }>();
/** One read buffer per worker, grown to the largest slice asked for and reused. */
let readBuffer = new Uint8Array(0);
/** Progress is posted per this many bytes hashed, not per (small) read. */
const PROGRESS_BYTES = 8 << 20;

/** Most bytes of small tensors kept in one piece of fresh memory by a load; a larger tensor is its own piece. */
const KEPT_PIECE = 16 << 20;

/**
 * What a load's job reads into: a piece of fresh memory per tensor, small neighbours sharing one up to
 * KEPT_PIECE. Memory of that size comes back from the allocator already mapped: one allocation per job
 * (128 MiB) was mapped fresh each time, a page fault for every 4 KiB, and took the load 1.5× as long.
 */
function keptPieces(ranges: readonly NamedRange[], from: number, to: number): Array<{ from: number; to: number; ranges: NamedRange[] }> {
  const out: Array<{ from: number; to: number; ranges: NamedRange[] }> = [];
  for (const r of [...ranges].sort((a, b) => a.start - b.start)) {
    const last = out[out.length - 1];
    if (last && r.end - last.from <= KEPT_PIECE) (last.to = r.end, last.ranges.push(r));
    else out.push({ from: last ? last.to : from, to: r.end, ranges: [r] });
  }
  if (out.length) out[out.length - 1].to = to;
  return out;
}

/**
 * Memory that is about to be overwritten whole (a load's piece: every byte of it is read, or the job fails and
 * it is dropped): not zeroed first where the runtime can give it so (Buffer.allocUnsafeSlow: Node, Bun). Zeroing
 * it cost each worker about as much as hashing a third of its bytes. Elsewhere, zeroed memory.
 */
function uninitialised(n: number): Uint8Array<ArrayBuffer> {
  const B = (globalThis as { Buffer?: { allocUnsafeSlow?(n: number): Uint8Array } }).Buffer;
  return B?.allocUnsafeSlow ? new Uint8Array(B.allocUnsafeSlow(n).buffer as ArrayBuffer, 0, n) : new Uint8Array(n);
}

async function handle(m: WorkerRequest, post: Post): Promise<void> {
  switch (m.op) {
    case 'init': {
      try {
        await setHashEngine(m.engine as HashEngineName);
      } catch {
        await ready(); // that engine does not load here: the runtime's rule, as on the main thread
      }
      return;
    }
    case 'file': {
      // The worker reads the file itself, with blocking reads in small slices: each slice is hashed while it is
      // still in the cache the read left it in. `keep` (a load): into fresh memory handed back, else (verify)
      // into one reused buffer.
      const file = await new FsBackend(m.root).openSyncReader(m.key);
      try {
        if (!m.keep && readBuffer.length < m.slice) readBuffer = new Uint8Array(m.slice);
        let unreported = 0;
        const onBytes = (bytes: number) => {
          unreported += bytes;
          if (unreported < PROGRESS_BYTES) return;
          post({ op: 'progress', id: m.id, bytes: unreported });
          unreported = 0;
        };
        const digests: Record<string, string> = {};
        const buffers: ArrayBuffer[] = [];
        const starts: number[] = [];
        for (const g of m.keep ? keptPieces(m.ranges, m.from, m.to) : [{ from: m.from, to: m.to, ranges: m.ranges }]) {
          const kept = m.keep ? uninitialised(g.to - g.from) : undefined;
          Object.assign(digests, await hashRanges(g.ranges, (s, e) => {
            const view = kept ? kept.subarray(s - g.from, e - g.from) : readBuffer.subarray(0, e - s);
            file.readInto(s, view);
            return view;
          }, { slice: m.slice, from: g.from, to: g.to, onBytes }));
          if (kept) (buffers.push(kept.buffer), starts.push(g.from));
        }
        if (unreported) post({ op: 'progress', id: m.id, bytes: unreported });
        post({ op: 'done', id: m.id, digests, ...(m.keep ? { buffers, starts } : {}) }, buffers);
      } finally {
        file.close();
      }
      return;
    }
    case 'bytes': {
      const view = new Uint8Array(m.buffer, 0, m.length);
      try {
        const digests = await hashRanges(m.ranges, (s, e) => view.subarray(s - m.offset, e - m.offset), {
          slice: m.length || 1, from: m.offset, to: m.offset + m.length,
        });
        post({ op: 'done', id: m.id, digests, buffer: m.buffer }, [m.buffer]);
      } catch (e) {
        post({ op: 'error', id: m.id, error: errorToJSON(e), buffer: m.buffer }, [m.buffer]);
      }
      return;
    }
    case 'open':
      streams.set(m.id, { h: createSha256(), ...(m.chunk ? { chunks: chunkHasher(m.chunk) } : {}) });
      return;
    case 'update': {
      const s = streams.get(m.id);
      try {
        if (!s) throw new Error(`no stream ${m.id}`);
        const view = new Uint8Array(m.buffer, 0, m.length);
        s.h.update(view);
        s.chunks?.update(view);
        post({ op: 'returned', id: m.id, buffer: m.buffer }, [m.buffer]);
      } catch (e) {
        streams.delete(m.id);
        post({ op: 'error', id: m.id, error: errorToJSON(e), buffer: m.buffer }, [m.buffer]);
      }
      return;
    }
    case 'share':
      shared.set(m.id, { buffer: m.buffer, slotBytes: m.slotBytes });
      return;
    case 'unshare':
      shared.delete(m.id);
      return;
    case 'feed': {
      // Hashed in place: the pool fills this slot again only after 'freed'.
      try {
        const mem = shared.get(m.id);
        if (!mem) throw new Error(`no shared memory ${m.id}`);
        const view = new Uint8Array(mem.buffer, m.slot * mem.slotBytes, m.length);
        for (const id of m.streams) {
          const s = streams.get(id);
          if (!s) throw new Error(`no stream ${id}`);
          s.h.update(view);
          s.chunks?.update(view);
        }
        post({ op: 'freed', id: m.id, slot: m.slot });
      } catch (e) {
        post({ op: 'error', id: m.id, error: errorToJSON(e) });
      }
      return;
    }
    case 'digest': {
      const s = streams.get(m.id);
      streams.delete(m.id);
      if (!s) throw new Error(`no stream ${m.id}`);
      post({ op: 'done', id: m.id, digest: toHex(s.h.digest()), ...(s.chunks ? { chunks: s.chunks.result() } : {}) });
      return;
    }
  }
}

async function main(): Promise<void> {
  // node:crypto (where there is one) loads while the pool sends the first job, not after 'init' arrives.
  void availableHashEngines();
  const { post, listen } = (await workerPort()) as { post: Post; listen(f: (m: WorkerRequest) => void): void };
  // Requests run one at a time, in order: a stream's updates must be hashed in the order sent.
  let queue = Promise.resolve();
  listen((m) => {
    queue = queue.then(() => handle(m, post)).catch((e) => {
      if ('id' in m) post({ op: 'error', id: m.id, error: errorToJSON(e) });
    });
  });
  post({ op: 'ready' });
}

void main();

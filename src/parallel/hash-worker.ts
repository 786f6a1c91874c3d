// The hashing worker. This module is not loaded from dist/ at run time:
// scripts/build.js bundles it (with the hash engines and the fs store) into
// one ES module whose text is embedded in worker-source.ts, and the pool
// starts it from that text — so it is found the same way in Node, Deno, a
// browser and any bundle, with no file next to the code to lose.
import { setHashEngine, ready, type HashEngineName } from '../core/hash-engines.js';
import { createSha256, toHex, type Hasher } from '../core/hash.js';
import { hashRanges } from './range-hash.js';
import { errorToJSON } from '../errors.js';
import { FsBackend } from '../store/fs-backend.js';
import type { WorkerReply, WorkerRequest } from './protocol.js';
import { workerPort } from '../platform/runtime.js';

type Post = (m: WorkerReply, transfer?: Transferable[]) => void;

const streams = new Map<number, Hasher>();
/** One read buffer per worker, grown to the largest slice asked for and reused. */
let readBuffer = new Uint8Array(0);

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
      const store = new FsBackend(m.root);
      if (readBuffer.length < m.slice) readBuffer = new Uint8Array(m.slice);
      const digests = await hashRanges(m.ranges, async (s, e) => {
        const view = readBuffer.subarray(0, e - s);
        await store.readInto(m.key, s, view);
        return view;
      }, { slice: m.slice, from: m.from, to: m.to, onBytes: (bytes) => post({ op: 'progress', id: m.id, bytes }) });
      post({ op: 'done', id: m.id, digests });
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
      streams.set(m.id, createSha256());
      return;
    case 'update': {
      const h = streams.get(m.id);
      try {
        if (!h) throw new Error(`no stream ${m.id}`);
        h.update(new Uint8Array(m.buffer, 0, m.length));
        post({ op: 'returned', id: m.id, buffer: m.buffer }, [m.buffer]);
      } catch (e) {
        streams.delete(m.id);
        post({ op: 'error', id: m.id, error: errorToJSON(e), buffer: m.buffer }, [m.buffer]);
      }
      return;
    }
    case 'digest': {
      const h = streams.get(m.id);
      streams.delete(m.id);
      if (!h) throw new Error(`no stream ${m.id}`);
      post({ op: 'done', id: m.id, digest: toHex(h.digest()) });
      return;
    }
  }
}

async function main(): Promise<void> {
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

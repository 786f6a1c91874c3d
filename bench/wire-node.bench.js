// Verified loading in Node at the hardware limit (issue #17): a 1 GiB
// safetensors file of 64 F32 tensors from the page cache, safeckpt's verify
// and load + verify against limits written by hand in this file:
//  - 2-core limit: 2 worker_threads (started inside the timing, as a user's
//    code would), each reading its half of the tensors in 16 MiB slices into
//    one reused buffer and hashing each tensor with node:crypto;
//  - one-thread limit: the same on the calling thread, the next 16 MiB read
//    (on libuv's I/O threads) overlapping the hashing of the current one;
//  - load limit: 2 workers, each reading its half into fresh memory and
//    hashing it, the buffers transferred back as the loaded tensors.
// Every limit hashes each byte once, and so does safeckpt's verify (one pass:
// docs/hashing.md; see BENCHMARKS.md). Ops run
// interleaved round by round in this process, a GC before each; round 1
// checks every result (reports and every loaded tensor's bytes).
//
//   npm run bench wire-node           (SAFECKPT_BENCH_ROUNDS=5, SAFECKPT_BENCH_MIB=1024)
import { Worker } from 'node:worker_threads';
import { createHash } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import { benchDir, makeModel, load, printTable, MIB } from './_wire.js';
import * as lib from '../dist/index.js';

const ROUNDS = Number(process.env.SAFECKPT_BENCH_ROUNDS || 5);
const BYTES = Number(process.env.SAFECKPT_BENCH_MIB || 1024) * MIB;
const SLICE = 16 * MIB;

const { dir } = benchDir('wire-node');
const model = await makeModel(dir, { bytes: BYTES, tensors: 64 });
const file = model.file;
const head = (await readFile(file)).subarray(0, 8); // also pulls the file into the page cache
const dataStart = 8 + Number(new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true));
const tensors = model.names.map((name) => {
  const [b, e] = model.sidecar.tensors[name].data_offsets;
  return { name, start: dataStart + b, end: dataStart + e };
});
const halves = [tensors.slice(0, tensors.length >> 1), tensors.slice(tensors.length >> 1)];

// One worker's code for both limits: 'verify' reads into one reused buffer, 'load' into fresh memory it hands back.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { openSync, readSync, closeSync } = require('node:fs');
const { file, ranges, slice, mode } = workerData;
const fd = openSync(file, 'r');
const digests = {};
const buffers = [];
const reused = mode === 'verify' ? Buffer.allocUnsafeSlow(slice) : null;
for (const r of ranges) {
  const h = createHash('sha256');
  const whole = mode === 'load' ? new Uint8Array(new ArrayBuffer(r.end - r.start)) : null;
  for (let off = r.start; off < r.end; off += slice) {
    const n = Math.min(slice, r.end - off);
    const into = whole ? whole.subarray(off - r.start, off - r.start + n) : reused.subarray(0, n);
    let got = 0;
    while (got < n) got += readSync(fd, into, got, n - got, off + got);
    h.update(into);
  }
  digests[r.name] = h.digest('hex');
  if (whole) buffers.push(whole.buffer);
}
closeSync(fd);
parentPort.postMessage({ digests, buffers }, buffers);
`;

function onWorkers(mode) {
  return Promise.all(halves.map((ranges) => new Promise((ok, fail) => {
    const w = new Worker(WORKER, { eval: true, workerData: { file, ranges, slice: SLICE, mode } });
    w.once('message', ok);
    w.once('error', fail);
  })));
}

function checkDigests(digests, op) {
  for (const t of tensors) if (digests[t.name] !== model.sidecar.tensors[t.name].sha256) throw new Error(`${op}: ${t.name} does not match`);
}

const OPS = {
  'limit-2': async () => {
    const parts = await onWorkers('verify');
    const digests = Object.assign({}, ...parts.map((p) => p.digests));
    checkDigests(digests, 'limit-2');
    return {};
  },
  'limit-1': async () => {
    const fh = await open(file, 'r');
    try {
      const bufs = [Buffer.allocUnsafeSlow(SLICE), Buffer.allocUnsafeSlow(SLICE)];
      const digests = {};
      // Slices of the data region in order; each tensor's hasher is fed its part of each slice.
      const from = tensors[0].start, to = tensors[tensors.length - 1].end;
      let ti = 0, h = createHash('sha256');
      let next = fh.read(bufs[0], 0, Math.min(SLICE, to - from), from);
      for (let off = from, k = 0; off < to; off += SLICE, k++) {
        const { bytesRead } = await next;
        const cur = bufs[k & 1].subarray(0, bytesRead);
        const nOff = off + SLICE;
        next = nOff < to ? fh.read(bufs[(k + 1) & 1], 0, Math.min(SLICE, to - nOff), nOff) : null;
        let p = off;
        while (ti < tensors.length && p < off + bytesRead) {
          const t = tensors[ti];
          const stop = Math.min(t.end, off + bytesRead);
          h.update(cur.subarray(p - off, stop - off));
          p = stop;
          if (p === t.end) { digests[t.name] = h.digest('hex'); h = createHash('sha256'); ti++; }
        }
      }
      checkDigests(digests, 'limit-1');
      return {};
    } finally {
      await fh.close();
    }
  },
  'verify': async () => ({ report: await lib.verify(file) }),
  'verify-w0': async () => ({ report: await lib.verify(file, { workers: 0 }) }),
  'load-limit': async () => {
    const parts = await onWorkers('load');
    const views = {};
    for (const [i, p] of parts.entries()) {
      checkDigests({ ...Object.fromEntries(tensors.map((t) => [t.name, model.sidecar.tensors[t.name].sha256])), ...p.digests }, 'load-limit');
      halves[i].forEach((t, j) => { views[t.name] = new Uint8Array(p.buffers[j]); });
    }
    return { tensors: views };
  },
  'load': async () => ({ tensors: (await lib.readSafetensors(file)).tensors }),
  'load-w0': async () => ({ tensors: (await lib.readSafetensors(file, { workers: 0 })).tensors }),
};

function check(op, r) {
  if (r.report && (r.report.sidecar !== 'verified' || r.report.sha256 !== model.sidecar.sha256 || r.report.size !== model.size)) throw new Error(`${op}: report`);
  if (r.tensors) {
    if (Object.keys(r.tensors).length !== tensors.length) throw new Error(`${op}: ${Object.keys(r.tensors).length} tensors`);
    for (const t of tensors) {
      const v = r.tensors[t.name];
      const bytes = v instanceof Uint8Array ? v : v.bytes();
      if (createHash('sha256').update(bytes).digest('hex') !== model.sidecar.tensors[t.name].sha256) throw new Error(`${op}: ${t.name} is not the file's bytes`);
    }
  }
}

await lib.ready?.();
const LABELS = [
  ['limit-2', '**2-core limit**: 2 workers, 16 MiB reads into a reused buffer + node:crypto per tensor'],
  ['verify', '`verify(path)` (default)'],
  ['limit-1', '**one-thread limit**: 16 MiB reads (next read overlapping) + node:crypto per tensor'],
  ['verify-w0', '`verify(path, { workers: 0 })`'],
  ['load-limit', '**load limit**: 2 workers read into fresh memory + node:crypto, buffers handed back'],
  ['load', '`readSafetensors(path)` (default: loads all, verified)'],
  ['load-w0', '`readSafetensors(path, { workers: 0 })`'],
];
const order = LABELS.map(([op]) => op);
const times = Object.fromEntries(order.map((op) => [op, []]));
const loads = [load()];
for (let r = 0; r < ROUNDS; r++) {
  for (const op of order) {
    globalThis.gc?.();
    const t0 = performance.now();
    const res = await OPS[op]();
    times[op].push(performance.now() - t0);
    if (r === 0) check(op, res);
  }
  loads.push(load());
}
const peerOf = (op) => ({ verify: 'limit-2', 'verify-w0': 'limit-1', load: 'load-limit', 'load-w0': 'load-limit' })[op] ?? op;
console.log(`Node ${process.version}; ${(model.size / MIB).toFixed(0)} MiB, ${tensors.length} F32 tensors, from the page cache; median of ${ROUNDS} rounds, ops interleaved; ` +
  `ratios are time ÷ the limit's time (a fraction of the limit's speed is its inverse); round 1 checked every result.`);
console.log(`load average (1/5/15 min) before and after each round: ${loads.join(' | ')}\n`);
printTable(LABELS, times, peerOf, { verify: 'speed ≥ 0.95 of the limit (ratio ≤ 1.053)', 'verify-w0': 'speed ≥ 0.9 (ratio ≤ 1.11)', load: 'speed ≥ 0.85 (ratio ≤ 1.18)' });

// Header validation of a 10,000-tensor (~1 MiB) safetensors header, as the
// reference writer lays it out:
//  - safeckpt parseHeader (the WASM core: UTF-8, JSON, every reference rule,
//    duplicate names; a flat table, no object per tensor);
//  - the same, then every TensorInfo materialised (names, shapes, offsets);
//  - JSON.parse + the equivalent JS validation (test/_safetensors-model.js: the
//    reference's rules in order, BigInt overflow checks);
//  - @huggingface/hub parseSafetensorsMetadata, fed the bytes through a local
//    fetch that answers its Range requests (its own, looser checks).
// Time: median and min of many rounds, the peers interleaved round by round. Memory: heap + arrayBuffers still held by the
// result after a full GC (the core's own linear memory is reported apart: it is
// allocated once per process and reused by every call).
// Usage: node --expose-gc bench/header.bench.js [tensors=10000] [runs=60]
import { parseHeader } from '../dist/index.js';
import { core } from '../dist/core/wasm.js';
import { modelParse } from '../test/_safetensors-model.js';
import { parseSafetensorsMetadata } from '@huggingface/hub';
import { makeFile } from './_state-dict.js';

const TENSORS = Number(process.argv[2] ?? 10_000);
const RUNS = Number(process.argv[3] ?? 60);
const gc = globalThis.gc ?? (() => { throw new Error('run with --expose-gc (npm run bench does)'); });

const { head, fileSize, headerBytes } = makeFile(TENSORS);

/** Serves the file's first bytes to @huggingface/hub as if from the Hub (Range requests; the data region reads as zeros). */
async function localFetch(input, init = {}) {
  const headers = new Headers(init.headers);
  const range = headers.get('Range');
  const common = { 'Content-Type': 'application/octet-stream', 'Accept-Ranges': 'bytes', ETag: '"bench"', 'X-Linked-Size': String(fileSize) };
  if (!range) return new Response(init.method === 'HEAD' ? null : head, { status: 200, headers: { ...common, 'Content-Length': String(fileSize) } });
  const [, a, b] = /bytes=(\d+)-(\d*)/.exec(range);
  const start = Number(a), end = Math.min(b === '' ? fileSize - 1 : Number(b), fileSize - 1);
  const body = new Uint8Array(end - start + 1);
  body.set(head.subarray(Math.min(start, head.length), Math.min(end + 1, head.length)));
  return new Response(body, { status: 206, headers: { ...common, 'Content-Range': `bytes ${start}-${end}/${fileSize}`, 'Content-Length': String(body.length) } });
}

const peers = {
  'safeckpt parseHeader (core)': () => parseHeader(head, { fileSize }),
  'safeckpt parseHeader + every TensorInfo': () => { const h = parseHeader(head, { fileSize }); return [h, [...h.tensors()]]; },
  'JSON.parse + JS validation': () => { const r = modelParse(head, fileSize); if (!r.ok) throw new Error(r.detail); return r; },
  '@huggingface/hub parseSafetensorsMetadata': () => parseSafetensorsMetadata({ repo: 'bench/model', path: 'model.safetensors', fetch: localFetch }),
};

// Check each one accepts the file and sees every tensor before timing it.
if (parseHeader(head, { fileSize }).size !== TENSORS) throw new Error('safeckpt: wrong tensor count');
if (modelParse(head, fileSize).tensors.length !== TENSORS) throw new Error('model: wrong tensor count');
const hub = await peers['@huggingface/hub parseSafetensorsMetadata']();
if (Object.keys(hub.header).length !== TENSORS + 1) throw new Error('hub: wrong tensor count');

/** Times every peer round by round (interleaved, so a change in machine load hits all alike): median and min. */
async function timeAll(fns) {
  for (const fn of fns) for (let i = 0; i < 5; i++) await fn();
  const xs = fns.map(() => []);
  for (let i = 0; i < RUNS; i++) {
    for (let k = 0; k < fns.length; k++) {
      const t0 = performance.now();
      await fns[k]();
      xs[k].push(performance.now() - t0);
    }
  }
  return xs.map((x) => { x.sort((a, b) => a - b); return { median: x[x.length >> 1], min: x[0] }; });
}
async function retained(fn) {
  const held = [];
  gc(); gc();
  const m0 = process.memoryUsage();
  for (let i = 0; i < 5; i++) held.push(await fn());
  gc(); gc();
  const m1 = process.memoryUsage();
  const per = ((m1.heapUsed - m0.heapUsed) + (m1.arrayBuffers - m0.arrayBuffers)) / held.length;
  held.length = 0;
  return per;
}

const times = await timeAll(Object.values(peers));
const rows = [];
let i = 0;
for (const [name, fn] of Object.entries(peers)) rows.push({ name, ...times[i++], bytes: await retained(fn) });
const base = rows[0];
const mib = (b) => (b / 2 ** 20).toFixed(2);
console.log(`${TENSORS} tensors, header ${mib(headerBytes)} MiB, ${RUNS} rounds with the peers interleaved; memory = heap + arrayBuffers held by one result\n`);
console.log('| peer | median ms | min ms | × safeckpt time (median / min) | retained MiB | × safeckpt memory |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(`| ${r.name} | ${r.median.toFixed(2)} | ${r.min.toFixed(2)} | ${(r.median / base.median).toFixed(2)} / ${(r.min / base.min).toFixed(2)} | ${mib(r.bytes)} | ${(r.bytes / base.bytes).toFixed(2)} |`);
}
console.log(`\nThe core's linear memory after these runs: ${mib(core().memory.buffer.byteLength)} MiB (allocated once, reused by every call).`);

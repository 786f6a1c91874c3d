// Header validation of a 10,000-tensor (~1 MiB) safetensors header, as the
// reference writer lays it out:
//  - safeckpt parseHeader (the WASM core: UTF-8, JSON, every reference rule,
//    duplicate names; a flat table, no object per tensor);
//  - the same, then every TensorInfo materialised (names, shapes, offsets);
//  - JSON.parse + the equivalent JS validation (test/_safetensors-model.js: the
//    reference's rules in order, BigInt overflow checks);
//  - @huggingface/hub parseSafetensorsMetadata, fed the bytes through a local
//    fetch that answers its Range requests (its own, looser checks).
// Time: median of many runs. Memory: heap + arrayBuffers still held by the
// result after a full GC (the core's own linear memory is reported apart: it is
// allocated once per process and reused by every call).
// Usage: node --expose-gc bench/header.bench.js [tensors=10000] [runs=60]
import { parseHeader } from '../dist/index.js';
import { core } from '../dist/core/wasm.js';
import { modelParse } from '../test/_safetensors-model.js';
import { parseSafetensorsMetadata } from '@huggingface/hub';

const TENSORS = Number(process.argv[2] ?? 10_000);
const RUNS = Number(process.argv[3] ?? 60);
const gc = globalThis.gc ?? (() => { throw new Error('run with --expose-gc (npm run bench does)'); });

const DTYPE_ORDER = ['U64', 'I64', 'F64', 'C64', 'F32', 'U32', 'I32', 'BF16', 'F16', 'U16', 'I16', 'U8', 'BOOL'];
const BITS = { U64: 64, I64: 64, F64: 64, C64: 64, F32: 32, U32: 32, I32: 32, BF16: 16, F16: 16, U16: 16, I16: 16, U8: 8, BOOL: 8 };

/** A transformer-like state dict, serialised as the reference does (dtype desc, then name; compact; space padding). */
function makeFile(n) {
  const kinds = [['self_attn.q_proj.weight', [4096, 4096]], ['self_attn.k_proj.weight', [1024, 4096]], ['self_attn.v_proj.weight', [1024, 4096]],
    ['self_attn.o_proj.weight', [4096, 4096]], ['mlp.gate_proj.weight', [14336, 4096]], ['mlp.up_proj.weight', [14336, 4096]],
    ['mlp.down_proj.weight', [4096, 14336]], ['input_layernorm.weight', [4096]], ['post_attention_layernorm.weight', [4096]], ['self_attn.q_norm.weight', [128]]];
  const entries = [];
  for (let i = 0; i < n; i++) {
    const [suffix, shape] = kinds[i % kinds.length];
    entries.push({ name: `model.language_model.layers.${Math.floor(i / kinds.length)}.${suffix}`, dtype: shape.length === 1 ? 'F32' : 'BF16', shape });
  }
  entries.sort((a, b) => DTYPE_ORDER.indexOf(a.dtype) - DTYPE_ORDER.indexOf(b.dtype) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const obj = { __metadata__: { format: 'pt' } };
  let off = 0;
  for (const e of entries) {
    const size = e.shape.reduce((a, b) => a * b, 1) * BITS[e.dtype] / 8;
    obj[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [off, off + size] };
    off += size;
  }
  let json = JSON.stringify(obj);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const header = new TextEncoder().encode(json);
  const head = new Uint8Array(8 + header.length);
  new DataView(head.buffer).setBigUint64(0, BigInt(header.length), true);
  head.set(header, 8);
  return { head, fileSize: head.length + off, headerBytes: header.length };
}

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

async function timeIt(fn) {
  for (let i = 0; i < 5; i++) await fn();
  const xs = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await fn();
    xs.push(performance.now() - t0);
  }
  xs.sort((a, b) => a - b);
  return xs[xs.length >> 1];
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

const rows = [];
for (const [name, fn] of Object.entries(peers)) rows.push({ name, ms: await timeIt(fn), bytes: await retained(fn) });
const base = rows[0];
const mib = (b) => (b / 2 ** 20).toFixed(2);
console.log(`${TENSORS} tensors, header ${mib(headerBytes)} MiB, median of ${RUNS} runs; memory = heap + arrayBuffers held by one result\n`);
console.log('| peer | median ms | × safeckpt time | retained MiB | × safeckpt memory |');
console.log('|---|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(`| ${r.name} | ${r.ms.toFixed(2)} | ${(r.ms / base.ms).toFixed(2)} | ${mib(r.bytes)} | ${(r.bytes / base.bytes).toFixed(2)} |`);
}
console.log(`\nThe core's linear memory after these runs: ${mib(core().memory.buffer.byteLength)} MiB (allocated once, reused by every call).`);

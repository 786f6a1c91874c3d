// Edge loading: the tensors a small model needs from a remote file whose bulk
// it does not need (a 64 MiB head next to 1.1 MiB of needed weights), served
// over loopback HTTP with Range support. Time, bytes and requests for:
//  - safeckpt readSafetensors + load(needed): 8 bytes, the header, the sidecar,
//    the needed ranges (coalesced), each tensor SHA-256-checked;
//  - the naive verified way: download the file, SHA-256 it against the sidecar, slice;
//  - @huggingface/hub parseSafetensorsMetadata (header by Range) + one Range
//    request per needed tensor, with no verification (the hub library has none).
import { createServer } from 'node:http';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSafetensorsMetadata } from '@huggingface/hub';
import { writeSafetensors, readSafetensors, HttpStore } from '../dist/index.js';

const dir = mkdtempSync(join(tmpdir(), 'safeckpt-edge-bench-'));
const rnd = (n) => { const a = new Float32Array(n); for (let i = 0; i < n; i++) a[i] = Math.sin(i * 12.9898) * 0.02; return a; };
const NEEDED = ['embed.weight', 'encoder.fc1.weight', 'encoder.fc1.bias', 'classifier.weight', 'classifier.bias'];
await writeSafetensors(join(dir, 'model.safetensors'), {
  'embed.weight': { dtype: 'F32', shape: [256, 1024], data: rnd(256 * 1024) },
  'encoder.fc1.weight': { dtype: 'F32', shape: [64, 1024], data: rnd(64 * 1024) },
  'encoder.fc1.bias': { dtype: 'F32', shape: [64], data: rnd(64) },
  'classifier.weight': { dtype: 'F32', shape: [4, 64], data: rnd(256) },
  'classifier.bias': { dtype: 'F32', shape: [4], data: rnd(4) },
  'lm_head.weight': { dtype: 'F32', shape: [16384, 1024], data: rnd(16384 * 1024) },
});
const FILE = join(dir, 'model.safetensors');
const SIZE = statSync(FILE).size;

let served = { requests: 0, bytes: 0 };
const server = createServer((req, res) => {
  const name = decodeURIComponent(new URL(req.url, 'http://x').pathname).split('/').pop();
  const file = join(dir, name);
  let size;
  try { size = statSync(file).size; } catch { res.statusCode = 404; res.end(); return; }
  served.requests++;
  const headers = { 'Accept-Ranges': 'bytes', 'Content-Type': 'application/octet-stream', ETag: '"bench"', 'X-Linked-Size': String(size) };
  const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  const [start, end] = m ? [Number(m[1]), Math.min(m[2] === '' ? size - 1 : Number(m[2]), size - 1)] : [0, size - 1];
  res.writeHead(m ? 206 : 200, { ...headers, 'Content-Length': String(end - start + 1), ...(m ? { 'Content-Range': `bytes ${start}-${end}/${size}` } : {}) });
  if (req.method === 'HEAD') { res.end(); return; }
  served.bytes += end - start + 1;
  createReadStream(file, { start, end }).pipe(res);
});
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const base = `http://127.0.0.1:${server.address().port}/m/`;
const url = base + 'model.safetensors';

const peers = {
  'safeckpt readSafetensors + load(needed), verified': async () => {
    const f = await readSafetensors({ store: new HttpStore(base), key: 'model.safetensors' }, { strict: true });
    const t = await f.load(NEEDED);
    return NEEDED.map((n) => t[n].byteLength);
  },
  'download + node:crypto SHA-256 + slice, verified': async () => {
    const sidecar = await (await fetch(url + '.meta.json')).json();
    const all = new Uint8Array(await (await fetch(url)).arrayBuffer());
    if (createHash('sha256').update(all).digest('hex') !== sidecar.sha256) throw new Error('hash');
    const n = Number(new DataView(all.buffer).getBigUint64(0, true));
    const h = JSON.parse(new TextDecoder().decode(all.subarray(8, 8 + n)));
    return NEEDED.map((k) => all.subarray(8 + n + h[k].data_offsets[0], 8 + n + h[k].data_offsets[1]).byteLength);
  },
  '@huggingface/hub header + a Range per tensor, NOT verified': async () => {
    const meta = await parseSafetensorsMetadata({ repo: 'bench/model', path: 'model.safetensors', fetch: (u, init) => fetch(url, init) });
    // The hub API does not return the header length, which locates the data region: read it.
    const n = Number(new DataView((await (await fetch(url, { headers: { Range: 'bytes=0-7' } })).arrayBuffer())).getBigUint64(0, true));
    return Promise.all(NEEDED.map(async (k) => {
      const [a, b] = meta.header[k].data_offsets;
      return (await (await fetch(url, { headers: { Range: `bytes=${8 + n + a}-${8 + n + b - 1}` } })).arrayBuffer()).byteLength;
    }));
  },
};

const want = JSON.stringify(await peers['download + node:crypto SHA-256 + slice, verified']());
const rows = [];
for (const [name, fn] of Object.entries(peers)) {
  if (JSON.stringify(await fn()) !== want) throw new Error(`${name}: wrong tensors`);
  const times = [];
  for (let i = 0; i < 15; i++) {
    served = { requests: 0, bytes: 0 };
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  rows.push({ name, ms: times[7], ...served });
}
server.close();
rmSync(dir, { recursive: true, force: true });

const ref = rows[0];
console.log(`file ${(SIZE / 2 ** 20).toFixed(1)} MiB, needed tensors ${((256 * 1024 + 64 * 1024 + 64 + 256 + 4) * 4 / 2 ** 20).toFixed(2)} MiB; median of 15 over loopback HTTP\n`);
console.log('| method | time (ms) | bytes received | requests | time vs safeckpt | bytes vs safeckpt |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.name} | ${r.ms.toFixed(1)} | ${r.bytes} | ${r.requests} | ${(r.ms / ref.ms).toFixed(2)}× | ${(r.bytes / ref.bytes).toFixed(2)}× |`);

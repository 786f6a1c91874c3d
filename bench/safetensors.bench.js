// safetensors at 1 GiB: load + verify and streamed write, against the plain
// baselines "fs.readFile + node:crypto SHA-256" and "write + hash", each
// operation in its own process so peak RSS is its own. The 1 GiB file is made
// in /tmp at bench time and removed at the end.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, openSync, writeSync, fsyncSync, closeSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';

const GIB = 1 << 30;
const TENSORS = 64;
const SIZE = Number(process.env.SAFECKPT_BENCH_BYTES || GIB);
const ROUNDS = Number(process.env.SAFECKPT_BENCH_ROUNDS || 3);
const self = fileURLToPath(import.meta.url);

function weights() {
  const per = SIZE / TENSORS;
  const t = {};
  let seed = 1;
  for (let i = 0; i < TENSORS; i++) {
    const data = new Uint8Array(per);
    const w = new Uint32Array(data.buffer);
    for (let j = 0; j < w.length; j += 1024) w[j] = seed = (seed * 1664525 + 1013904223) >>> 0;
    t[`layers.${String(i).padStart(2, '0')}.weight`] = { dtype: 'F32', shape: [per / 4], data };
  }
  return t;
}

// ------------------------------------------------------------------ children: one operation each
async function child(op, path) {
  const lib = await import('../dist/index.js');
  let t0;
  if (op === 'baseline-read') {
    t0 = performance.now();
    const buf = readFileSync(path);
    createHash('sha256').update(buf).digest('hex');
  } else if (op === 'load-verify') {
    await lib.ready();
    t0 = performance.now();
    const f = await lib.readSafetensors(path);
    if (Object.keys(f.tensors).length !== TENSORS || f.sidecar === null) throw new Error('not loaded/verified');
  } else if (op === 'verify-stream') {
    await lib.ready();
    t0 = performance.now();
    const r = await lib.verify(path);
    if (r.sidecar !== 'verified') throw new Error('not verified');
  } else if (op === 'baseline-write' || op === 'write') {
    const t = weights();
    await lib.ready();
    t0 = performance.now();
    if (op === 'write') await lib.writeSafetensors(path, t);
    else {
      // the plain way: write the same bytes (header first), hash them, fsync
      const lay = lib.safetensorsLayout(Object.entries(t).map(([name, v]) => ({ name, ...v, byteLength: v.data.byteLength, bytes: () => v.data })));
      const fd = openSync(path, 'w');
      const h = createHash('sha256');
      h.update(lay.head);
      writeSync(fd, lay.head);
      for (const e of lay.order) {
        h.update(e.bytes());
        writeSync(fd, e.bytes());
      }
      h.digest('hex');
      fsyncSync(fd);
      closeSync(fd);
    }
  }
  const ms = performance.now() - t0;
  console.log(JSON.stringify({ ms, maxRssBytes: process.resourceUsage().maxRSS * 1024, engine: lib.hashEngineInfo().engine }));
}

function run(op, path) {
  const r = spawnSync(process.execPath, ['--max-old-space-size=4096', self, '--child', op, path], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${op} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'safeckpt-bench-'));
  try {
    const file = join(dir, 'model.safetensors');
    const results = {};
    const measure = (op, path) => {
      const rs = [];
      for (let i = 0; i < ROUNDS; i++) rs.push(run(op, path));
      results[op] = { ms: median(rs.map((r) => r.ms)), rss: Math.max(...rs.map((r) => r.maxRssBytes)), engine: rs[0].engine };
    };
    measure('write', file);
    measure('baseline-write', join(dir, 'plain.safetensors'));
    rmSync(join(dir, 'plain.safetensors'));
    const size = statSync(file).size;
    measure('baseline-read', file);
    measure('load-verify', file);
    measure('verify-stream', file);
    const mb = (b) => (b / 1048576).toFixed(0);
    const rows = [
      ['load + verify (readSafetensors, sidecar checked)', 'load-verify', 'baseline-read', '≤ 1.10×'],
      ['verify only, streamed (verify)', 'verify-stream', 'baseline-read', '—'],
      ['fs.readFile + node:crypto SHA-256 (baseline)', 'baseline-read', 'baseline-read', ''],
      ['streamed write + sidecar, atomic (writeSafetensors)', 'write', 'baseline-write', '≤ 1.15×'],
      ['write + node:crypto SHA-256 + fsync (baseline)', 'baseline-write', 'baseline-write', ''],
    ];
    console.log(`file: ${mb(size)} MiB, ${TENSORS} F32 tensors; hash engine: ${results['load-verify'].engine}; median of ${ROUNDS} runs, each in a fresh process\n`);
    console.log('| operation | time | ratio vs baseline | target | MB/s | peak RSS | RSS / file |');
    console.log('|---|---|---|---|---|---|---|');
    for (const [label, op, base, target] of rows) {
      const r = results[op];
      console.log(`| ${label} | ${(r.ms / 1000).toFixed(2)} s | ${(r.ms / results[base].ms).toFixed(2)}× | ${target} | ${(size / 1e6 / (r.ms / 1000)).toFixed(0)} | ${mb(r.rss)} MiB | ${(r.rss / size).toFixed(2)} |`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') await child(process.argv[3], process.argv[4]);
else await main();

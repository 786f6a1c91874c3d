// The cost of chunk digests (sidecar version 2, #15 item 2): writeSafetensors and verify of the same tensors
// with chunk digests (the default: 1 MiB chunks for tensors over 16 MiB) and without (`chunks: false`), in one
// process, rounds interleaved (A, B, A, B …) so that a change of load hits both; medians and their ratio. Files
// go to a fresh folder in the temp dir and are removed at the end. SAFECKPT_BENCH_BYTES (default 256 MiB),
// SAFECKPT_BENCH_ROUNDS (default 5).
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir, loadavg } from 'node:os';

const lib = await import('../dist/internal.js');
const SIZE = Number(process.env.SAFECKPT_BENCH_BYTES || 256 << 20);
const ROUNDS = Number(process.env.SAFECKPT_BENCH_ROUNDS || 5);
const TENSORS = 8;

function weights() {
  const per = SIZE / TENSORS;
  const t = {};
  let seed = 7;
  for (let i = 0; i < TENSORS; i++) {
    const data = new Uint8Array(per);
    const w = new Uint32Array(data.buffer);
    for (let j = 0; j < w.length; j += 256) w[j] = seed = (seed * 1664525 + 1013904223) >>> 0;
    t[`layers.${i}.weight`] = { dtype: 'F32', shape: [per / 4], data };
  }
  return t;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const dir = mkdtempSync(join(tmpdir(), 'safeckpt-chunks-bench-'));
const load0 = loadavg()[0];
try {
  const t = weights();
  const modes = { 'with chunk digests': undefined, 'without (chunks: false)': false };
  const times = Object.fromEntries(Object.keys(modes).map((m) => [m, { write: [], verify: [], sidecar: 0 }]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const [m, chunks] of Object.entries(modes)) {
      const path = join(dir, `${r}-${chunks === false ? 'plain' : 'chunked'}.safetensors`);
      let t0 = performance.now();
      await lib.writeSafetensors(path, t, chunks === undefined ? {} : { chunks });
      times[m].write.push(performance.now() - t0);
      globalThis.gc?.();
      t0 = performance.now();
      await lib.verify(path, { workers: 0 });
      times[m].verify.push(performance.now() - t0);
      const { statSync } = await import('node:fs');
      times[m].sidecar = statSync(path + '.meta.json').size;
      rmSync(path, { force: true });
      rmSync(path + '.meta.json', { force: true });
    }
  }
  const mb = SIZE / 2 ** 20;
  console.log(`${mb} MiB in ${TENSORS} F32 tensors, ${ROUNDS} rounds interleaved, one thread for verify (workers: 0); load ${load0.toFixed(1)} → ${loadavg()[0].toFixed(1)}\n`);
  console.log('| | write (median) | verify (median) | sidecar |');
  console.log('|---|---|---|---|');
  for (const [m, x] of Object.entries(times)) {
    console.log(`| ${m} | ${median(x.write).toFixed(0)} ms (${(mb / median(x.write) * 1000).toFixed(0)} MiB/s) | ${median(x.verify).toFixed(0)} ms (${(mb / median(x.verify) * 1000).toFixed(0)} MiB/s) | ${x.sidecar.toLocaleString('en')} B |`);
  }
  const [a, b] = Object.values(times);
  console.log(`\nwith / without: write ${(median(a.write) / median(b.write)).toFixed(2)}×, verify ${(median(a.verify) / median(b.verify)).toFixed(2)}×`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

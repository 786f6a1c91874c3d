// How long a checkpoint save stops a training loop in steady state: Adam steps
// on a model of 16 F32 variables (256 MiB; with Adam's two slots each, 768 MiB
// of state) that saves every EVERY steps, on TensorFlow.js's WASM backend
// (SAFECKPT_BENCH_BACKEND=cpu for @tensorflow/tfjs's default Node backend).
//
// One process trains throughout; each cycle runs three blocks of EVERY steps,
// in an order that rotates from cycle to cycle, so the machine's load (it is
// shared) weighs on the three alike:
//  - none:  EVERY steps, no save;
//  - sync:  saveCheckpoint awaited until committed, then EVERY steps;
//  - async: saveCheckpoint(…, { async: true }) awaited until captured, then
//           EVERY steps, then the wait for its commit — where, in a loop that
//           saves every EVERY steps, the next save would wait (back-pressure,
//           maxInFlight 1).
// Reported per save, median over the measured cycles (after one warm-up save
// of each kind): blocked = the time the loop could not step (sync: the whole
// save; async: the call, until captured, plus the wait for the commit at the
// end of its interval), and the ratio async/sync within each cycle (target
// ≤ 0.10). Throughput: steps per second of each block, and what a save costs
// the loop against the block without one — the background work (reading the
// capture out, hashing, writing) runs on this thread between steps, so this is
// the whole of what an asynchronous save takes from training.
// The loop yields to the event loop after each step, as fit() does between
// batches: a background save progresses only when the loop yields. Retention
// keeps the last 2 checkpoints (disk stays bounded; removals are part of each
// save, as in a real run).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { freshTarget } from './_disk.js';

const VARS = 16;
const BYTES = Number(process.env.SAFECKPT_BENCH_ASYNC_BYTES || 256 << 20);
const BACKEND = process.env.SAFECKPT_BENCH_BACKEND || 'wasm';
const EVERY = Number(process.env.SAFECKPT_BENCH_ASYNC_EVERY || 12);
const CYCLES = Number(process.env.SAFECKPT_BENCH_ASYNC_CYCLES || 3);
const MODES = ['none', 'sync', 'async'];
const self = fileURLToPath(import.meta.url);
const SHAPE = [BYTES / VARS / 4 / 256, 256];

async function setup() {
  let tf;
  if (BACKEND === 'cpu') {
    tf = await import('@tensorflow/tfjs');
    await tf.setBackend('cpu');
  } else {
    tf = await import('../build/tf.js');
    await tf.initTf();
  }
  const vars = {};
  for (let i = 0; i < VARS; i++) {
    const name = `layer.${String(i).padStart(2, '0')}.weight`;
    const init = tf.randomUniform(SHAPE, -1, 1, 'float32', i + 1);
    vars[name] = tf.variable(init, true, name);
    init.dispose();
  }
  const optimizer = tf.train.adam(0.001);
  return { tf, vars, optimizer };
}

/**
 * One Adam step on a loss that touches every variable, then a turn of the event loop, as fit() yields between
 * batches (and a loop that awaits its loss does): a save in flight works during those turns.
 */
async function step(tf, vars, optimizer) {
  const loss = optimizer.minimize(() => tf.addN(Object.values(vars).map((v) => tf.mean(tf.square(v)))), true);
  await loss.data();
  loss.dispose();
  await new Promise((r) => setTimeout(r, 0));
}

const now = () => performance.now();

async function child(dir) {
  const lib = await import('../dist/index.js');
  await lib.ready();
  const { tf, vars, optimizer } = await setup();
  await step(tf, vars, optimizer); // Adam's slots exist
  const root = join(dir, 'ckpt');
  const opts = { retention: { keepLast: 2 } };
  const state = () => ({ model: vars, optimizer, step: optimizer.iterations });
  const steps = async () => {
    for (let s = 0; s < EVERY; s++) await step(tf, vars, optimizer);
  };
  const cycles = [];
  // Warm-up: one save of each kind (fresh memory, first files, JIT), then a block of steps.
  await lib.saveCheckpoint(root, state(), opts);
  await (await lib.saveCheckpoint(root, state(), { ...opts, async: true })).committed;
  await steps();
  for (let c = 0; c < CYCLES; c++) {
    const r = { load: loadavg()[0] };
    for (let k = 0; k < MODES.length; k++) {
      const mode = MODES[(c + k) % MODES.length];
      const t0 = now();
      if (mode === 'sync') {
        await lib.saveCheckpoint(root, state(), opts);
        r.syncBlocked = now() - t0;
      } else if (mode === 'async') {
        const p = await lib.saveCheckpoint(root, state(), { ...opts, async: true });
        r.asyncCall = now() - t0;
        p.committed.then(() => { r.asyncCommitted = now() - t0; }, () => {});
      }
      const s0 = now();
      await steps();
      r[`${mode}Steps`] = now() - s0;
      if (mode === 'async') {
        const w0 = now();
        await lib.flushCheckpoints();
        r.asyncTail = now() - w0;
        r.asyncBlocked = r.asyncCall + r.asyncTail;
      }
      r[mode] = now() - t0;
    }
    cycles.push(r);
    console.error(JSON.stringify(r));
  }
  const heapBytes = globalThis._tfengine?.backend?.wasm?.HEAPU8?.buffer.byteLength ?? 0;
  console.log(JSON.stringify({ cycles, heapBytes, maxRssBytes: process.resourceUsage().maxRSS * 1024 }));
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const sec = (ms) => `${(ms / 1000).toFixed(2)} s`;
const mib = (b) => (b / 1048576).toFixed(0);
const list = (xs) => xs.map((x) => (x / 1000).toFixed(2)).join(' ');

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'safeckpt-bench-async-'));
  try {
    freshTarget(join(dir, 'ckpt'));
    const r = spawnSync(process.execPath, ['--max-old-space-size=8192', self, '--child', dir], { encoding: 'utf8', env: { ...process.env }, stdio: ['ignore', 'pipe', 'inherit'] });
    if (r.status !== 0) throw new Error(`the training process failed (status ${r.status})`);
    const { cycles, heapBytes, maxRssBytes } = JSON.parse(r.stdout.trim().split('\n').pop());
    const col = (k) => cycles.map((c) => c[k]);
    const loads = col('load');
    console.log(`${VARS} F32 variables, ${mib(BYTES)} MiB + Adam's two slots each (${mib(3 * BYTES)} MiB of state), backend ${BACKEND}; ` +
      `a save every ${EVERY} steps; ${CYCLES} measured cycles (none, sync, async blocks, order rotating) after one warm-up save of each kind, ` +
      `one process, peak RSS ${mib(maxRssBytes)} MiB${heapBytes ? `, WASM heap ${mib(heapBytes)} MiB` : ''}; 1-min load average ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} (2 cores, shared)\n`);
    const ratio = cycles.map((c) => c.asyncBlocked / c.syncBlocked);
    console.log('| per save | training blocked (median) | vs sync (median of per-cycle ratios) | per cycle | until committed (median) |');
    console.log('|---|---|---|---|---|');
    console.log(`| saveCheckpoint (sync: returns when committed) | ${sec(median(col('syncBlocked')))} | 1.000× | ${list(col('syncBlocked'))} | ${sec(median(col('syncBlocked')))} |`);
    console.log(`| saveCheckpoint({ async: true }): the call, until captured | ${sec(median(col('asyncCall')))} | ${median(cycles.map((c) => c.asyncCall / c.syncBlocked)).toFixed(3)}× | ${list(col('asyncCall'))} | |`);
    console.log(`| … + waiting for its commit after ${EVERY} steps (back-pressure) | ${sec(median(col('asyncTail')))} | | ${list(col('asyncTail'))} | |`);
    console.log(`| saveCheckpoint({ async: true }): blocked in all | ${sec(median(col('asyncBlocked')))} | ${median(ratio).toFixed(3)}× | ${list(col('asyncBlocked'))} | ${sec(median(col('asyncCommitted')))} |`);
    console.log(`\nThroughput, each block ${EVERY} steps (with its save, and for async the wait for its commit):\n`);
    console.log('| loop | block (median) | steps/s | vs no saves | loop time a save costs | vs sync | per cycle |');
    console.log('|---|---|---|---|---|---|---|');
    const cost = (mode) => median(cycles.map((c) => c[mode] - c.none));
    for (const [label, mode] of [['no checkpoints', 'none'], ['sync saves', 'sync'], ['async saves', 'async']]) {
      const b = median(col(mode));
      console.log(`| ${label} | ${sec(b)} | ${(EVERY / (b / 1000)).toFixed(3)} | ${median(cycles.map((c) => c.none / c[mode])).toFixed(2)}× | ` +
        `${mode === 'none' ? '—' : sec(cost(mode))} | ${mode === 'none' ? '—' : (cost(mode) / cost('sync')).toFixed(3) + '×'} | ${list(col(mode))} |`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') await child(process.argv[3]);
else await main();

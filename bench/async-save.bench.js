// How long a checkpoint save stops a training loop: saveCheckpoint awaited
// until committed (sync) vs saveCheckpoint(…, { async: true }) awaited until the
// state is captured, for a model of 16 F32 variables (256 MiB) trained with
// Adam (two slots each: 768 MiB of state), on TensorFlow.js's WASM backend
// (SAFECKPT_BENCH_BACKEND=cpu for @tensorflow/tfjs's default Node backend).
//  - blocked: the time from the save call until the loop may take its next
//    step (sync: the whole write, hash, fsync and commit; async: the capture —
//    a backend-side clone of every tensor). Target: async ≤ 10% of sync.
//  - loop: N Adam steps saving every K, without saves, with sync saves and with
//    async saves (ended by waiting for the last commit): steps per second. The
//    loop yields to the event loop after each step, as fit() does between
//    batches: a background save progresses only when the loop yields.
// Each measurement runs in a fresh process; ops interleaved round by round;
// the checkpoint goes into a fresh, synced target (bench/_disk.js).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { freshTarget } from './_disk.js';

const VARS = 16;
const BYTES = Number(process.env.SAFECKPT_BENCH_ASYNC_BYTES || 256 << 20);
const ROUNDS = Number(process.env.SAFECKPT_BENCH_ROUNDS || 3);
const BACKEND = process.env.SAFECKPT_BENCH_BACKEND || 'wasm';
const STEPS = 12, EVERY = 4;
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
 * batches (and a loop that awaits its loss does): a save in flight writes during those turns.
 */
async function step(tf, vars, optimizer) {
  const loss = optimizer.minimize(() => tf.addN(Object.values(vars).map((v) => tf.mean(tf.square(v)))), true);
  await loss.data();
  loss.dispose();
  await new Promise((r) => setTimeout(r, 0));
}

async function child(op, dir) {
  const lib = await import('../dist/index.js');
  await lib.ready();
  const { tf, vars, optimizer } = await setup();
  await step(tf, vars, optimizer); // Adam's slots exist
  const root = join(dir, 'ckpt');
  const state = () => ({ model: vars, optimizer, step: optimizer.iterations });
  const out = {};
  if (op === 'blocked-sync') {
    const t0 = performance.now();
    await lib.saveCheckpoint(root, state());
    out.blocked = performance.now() - t0;
  } else if (op === 'blocked-async') {
    const t0 = performance.now();
    const p = await lib.saveCheckpoint(root, state(), { async: true });
    out.blocked = performance.now() - t0;
    await p.committed;
    out.committed = performance.now() - t0;
  } else {
    const mode = op.slice('loop-'.length);
    const blocked = [];
    const t0 = performance.now();
    for (let s = 1; s <= STEPS; s++) {
      await step(tf, vars, optimizer);
      if (mode !== 'none' && s % EVERY === 0) {
        const b0 = performance.now();
        if (mode === 'sync') await lib.saveCheckpoint(root, state());
        else await lib.saveCheckpoint(root, state(), { async: true });
        blocked.push(performance.now() - b0);
      }
    }
    await lib.flushCheckpoints();
    out.total = performance.now() - t0;
    out.blocked = blocked.reduce((a, b) => a + b, 0);
  }
  out.maxRssBytes = process.resourceUsage().maxRSS * 1024;
  console.log(JSON.stringify(out));
}

function run(op, dir) {
  const r = spawnSync(process.execPath, ['--max-old-space-size=8192', self, '--child', op, dir], { encoding: 'utf8', env: { ...process.env } });
  if (r.status !== 0) throw new Error(`${op} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const s = (ms) => `${(ms / 1000).toFixed(2)} s`;

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'safeckpt-bench-async-'));
  try {
    const runs = {};
    const groups = [['blocked-sync', 'blocked-async'], ['loop-none', 'loop-sync', 'loop-async']];
    const load = loadavg().map((x) => x.toFixed(1)).join(' ');
    for (const group of groups) {
      for (let i = 0; i < ROUNDS; i++) {
        for (const op of group) {
          freshTarget(join(dir, 'ckpt'));
          (runs[op] ??= []).push(run(op, dir));
        }
      }
    }
    const mib = (b) => (b / 1048576).toFixed(0);
    console.log(`${VARS} F32 variables, ${mib(BYTES)} MiB + Adam's two slots each (${mib(3 * BYTES)} MiB of state), backend ${BACKEND}; ` +
      `median of ${ROUNDS} rounds, each in a fresh process; load average at start ${load}\n`);
    const bs = runs['blocked-sync'].map((r) => r.blocked), ba = runs['blocked-async'].map((r) => r.blocked);
    console.log('| one save | training blocked (median) | vs sync | per round | until committed | peak RSS |');
    console.log('|---|---|---|---|---|---|');
    console.log(`| saveCheckpoint (sync: returns when committed) | ${s(median(bs))} | 1.00× | | ${s(median(bs))} | ${mib(Math.max(...runs['blocked-sync'].map((r) => r.maxRssBytes)))} MiB |`);
    console.log(`| saveCheckpoint({ async: true }) (returns when captured) | ${s(median(ba))} | ${(median(ba) / median(bs)).toFixed(3)}× | ${ba.map((x, i) => (x / bs[i]).toFixed(3)).join(' ')} | ${s(median(runs['blocked-async'].map((r) => r.committed)))} | ${mib(Math.max(...runs['blocked-async'].map((r) => r.maxRssBytes)))} MiB |`);
    console.log(`\n${STEPS} Adam steps, a checkpoint every ${EVERY} (${STEPS / EVERY} saves), the last one waited for:\n`);
    console.log('| loop | total (median) | steps/s | vs no saves | blocked in saves |');
    console.log('|---|---|---|---|---|');
    const none = median(runs['loop-none'].map((r) => r.total));
    for (const [label, op] of [['no checkpoints', 'loop-none'], ['sync saves', 'loop-sync'], ['async saves', 'loop-async']]) {
      const t = median(runs[op].map((r) => r.total));
      console.log(`| ${label} | ${s(t)} | ${(STEPS / (t / 1000)).toFixed(2)} | ${(t / none).toFixed(2)}× | ${s(median(runs[op].map((r) => r.blocked)))} |`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') await child(process.argv[3], process.argv[4]);
else await main();

// A serverless resume function's two costs — commit a checkpoint, resume from
// it — for a model of 16 F32 variables (64 MiB) trained with Adam (two slots
// per variable: 192 MiB of state in all):
//  - safeckpt saveCheckpoint (model + optimizer safetensors with sidecars,
//    manifest with every file's SHA-256, atomic commit, fsync, LATEST) and
//    resumeTraining (verify every byte, check every shape, restore variables
//    and Adam's slots and step);
//  - the plain TensorFlow.js way: tf.io.encodeWeights of the variables and
//    optimizer.getWeights() into weights.bin + model.json (nothing hashed, no
//    fsync, not atomic), and back with decodeWeights, assign, setWeights.
// Each operation in a fresh process (cold, as a serverless invocation is),
// ops interleaved round by round, every commit into a removed target after
// sync and a pause (bench/_disk.js), median of ROUNDS; both restores are checked
// to give back the exact variables and the same next Adam step.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { freshTarget } from './_disk.js';

const VARS = 16;
const BYTES = Number(process.env.SAFECKPT_BENCH_CKPT_BYTES || 64 << 20);
const ROUNDS = Number(process.env.SAFECKPT_BENCH_ROUNDS || 5);
const self = fileURLToPath(import.meta.url);
const SHAPE = [BYTES / VARS / 4 / 256, 256];

async function setup(seeded) {
  const tf = await import('../build/tf.js');
  await tf.initTf();
  const vars = {};
  for (let i = 0; i < VARS; i++) {
    const name = `layer.${String(i).padStart(2, '0')}.weight`;
    vars[name] = tf.variable(seeded ? tf.randomUniform(SHAPE, -1, 1, 'float32', i + 1) : tf.zeros(SHAPE), true, name);
  }
  const optimizer = tf.train.adam(0.01);
  return { tf, vars, optimizer };
}
/** One Adam step on a loss that touches every variable: creates (or advances) the slots. */
function step(tf, vars, optimizer) {
  optimizer.minimize(() => tf.addN(Object.values(vars).map((v) => tf.sum(tf.square(v)))));
}
function fingerprint(tf, vars) {
  // A cheap exact check: a few elements of every variable, bit for bit.
  return Object.values(vars).map((v) => Array.from(v.dataSync().subarray(0, 4)).join(',')).join(';');
}

async function child(op, dir) {
  const lib = await import('../dist/index.js');
  await lib.ready();
  const seeded = op.startsWith('save');
  const { tf, vars, optimizer } = await setup(seeded);
  if (seeded) step(tf, vars, optimizer); // a run one step in: Adam's slots exist and hold values (resume: a fresh process)
  let t0, out;
  if (op === 'save-safeckpt') {
    t0 = performance.now();
    await lib.saveCheckpoint(join(dir, 'ckpt'), { model: vars, optimizer, step: 1 });
  } else if (op === 'save-tfio') {
    t0 = performance.now();
    const named = { ...vars };
    for (const w of await optimizer.getWeights()) named[`optimizer/${w.name}`] = w.tensor;
    const { data, specs } = await tf.io.encodeWeights(named);
    mkdirSync(join(dir, 'tfio'), { recursive: true });
    writeFileSync(join(dir, 'tfio', 'weights.bin'), new Uint8Array(data));
    writeFileSync(join(dir, 'tfio', 'model.json'), JSON.stringify({ format: 'weights', weightsManifest: [{ paths: ['weights.bin'], weights: specs }] }));
  } else if (op === 'resume-safeckpt') {
    t0 = performance.now();
    await lib.resumeTraining(join(dir, 'ckpt'), { model: vars, optimizer, tf });
  } else if (op === 'resume-tfio') {
    t0 = performance.now();
    const manifest = JSON.parse(readFileSync(join(dir, 'tfio', 'model.json'), 'utf8'));
    const bin = readFileSync(join(dir, 'tfio', 'weights.bin'));
    const w = tf.io.decodeWeights(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength), manifest.weightsManifest[0].weights);
    for (const [n, v] of Object.entries(vars)) v.assign(w[n]);
    const slots = Object.keys(w).filter((k) => k.startsWith('optimizer/')).map((k) => ({ name: k.slice('optimizer/'.length), tensor: w[k] }));
    await optimizer.setWeights(slots);
  }
  const ms = performance.now() - t0;
  if (op.startsWith('resume')) {
    // What was restored, and where the next Adam step goes: identical for both ways.
    out = fingerprint(tf, vars);
    step(tf, vars, optimizer);
    out += '|' + fingerprint(tf, vars);
  }
  console.log(JSON.stringify({ ms, maxRssBytes: process.resourceUsage().maxRSS * 1024, out }));
}

function run(op, dir) {
  const r = spawnSync(process.execPath, ['--max-old-space-size=4096', self, '--child', op, dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${op} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'safeckpt-bench-ckpt-'));
  try {
    const runs = {};
    const ops = [['save-safeckpt', 'save-tfio'], ['resume-safeckpt', 'resume-tfio']];
    for (const group of ops) {
      for (let i = 0; i < ROUNDS; i++) {
        for (const op of group) {
          if (op === 'save-safeckpt') freshTarget(join(dir, 'ckpt'));
          if (op === 'save-tfio') freshTarget(join(dir, 'tfio'));
          (runs[op] ??= []).push(run(op, dir));
        }
      }
    }
    const outs = new Set([...runs['resume-safeckpt'], ...runs['resume-tfio']].map((r) => r.out));
    if (outs.size !== 1) throw new Error('the two restores did not give the same variables and next step');
    const mib = (b) => (b / 1048576).toFixed(0);
    console.log(`${VARS} F32 variables, ${mib(BYTES)} MiB + Adam's two slots each (${mib(3 * BYTES)} MiB of state); ` +
      `median of ${ROUNDS} rounds, each op in a fresh process; load average at start ${loadavg().map((x) => x.toFixed(1)).join(' ')}; ` +
      'both restores give bit-identical variables and the same next Adam step\n');
    console.log('| operation | time (median) | ratio | per-round | peak RSS |');
    console.log('|---|---|---|---|---|');
    const rows = [
      ['commit: safeckpt saveCheckpoint (hashed, sidecars, manifest, atomic, fsync)', 'save-safeckpt', 'save-tfio'],
      ['commit: tf.io.encodeWeights + optimizer.getWeights → weights.bin (no hash, no fsync)', 'save-tfio', 'save-tfio'],
      ['resume: safeckpt resumeTraining (every byte verified, shapes checked, Adam restored)', 'resume-safeckpt', 'resume-tfio'],
      ['resume: readFile + decodeWeights + assign + optimizer.setWeights (nothing verified)', 'resume-tfio', 'resume-tfio'],
    ];
    for (const [label, op, base] of rows) {
      const ms = runs[op].map((r) => r.ms), b = runs[base].map((r) => r.ms);
      console.log(`| ${label} | ${(median(ms) / 1000).toFixed(2)} s | ${(median(ms) / median(b)).toFixed(2)}× | ${op === base ? '' : ms.map((x, i) => (x / b[i]).toFixed(2)).join(' ')} | ${mib(Math.max(...runs[op].map((r) => r.maxRssBytes)))} MiB |`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') await child(process.argv[3], process.argv[4]);
else await main();

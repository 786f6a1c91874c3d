// safetensors at 1 GiB: load + verify and streamed write, on one thread and
// with the hashing workers, against the plain baselines "fs.readFile +
// node:crypto SHA-256" and "write + hash"; and save + load of the same
// TensorFlow.js tensors against tf.io's own weights format (model.json +
// weights.bin through tf.io.encodeWeights/decodeWeights, what model.save and
// loadLayersModel use). Each operation runs in its own process so peak RSS is
// its own. Files are made in /tmp at bench time and removed at the end.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, openSync, writeSync, fsyncSync, closeSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir, loadavg } from 'node:os';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { freshTarget, SETTLE_MS } from './_disk.js';

const GIB = 1 << 30;
const TENSORS = 64;
const SIZE = Number(process.env.SAFECKPT_BENCH_BYTES || GIB);
/** The tf.io comparison holds the tensors in the wasm heap as well: a quarter of the size keeps it well inside wasm32. */
const TF_SIZE = Number(process.env.SAFECKPT_BENCH_TF_BYTES || SIZE / 4);
const TF_TENSORS = 16;
const ROUNDS = Number(process.env.SAFECKPT_BENCH_ROUNDS || 5);
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
async function tfjs() {
  const tf = await import('../build/tf.js');
  await tf.initTf();
  return tf;
}

function tfWeights(tf) {
  const per = TF_SIZE / TF_TENSORS / 4;
  const out = {};
  for (let i = 0; i < TF_TENSORS; i++) out[`layers.${String(i).padStart(2, '0')}.weight`] = tf.randomUniform([per / 1024, 1024], -1, 1, 'float32', i + 1);
  return out;
}

async function child(op, path) {
  const lib = await import('../dist/internal.js');
  let t0;
  let tensors = 0;
  if (op === 'baseline-read') {
    t0 = performance.now();
    const buf = readFileSync(path);
    createHash('sha256').update(buf).digest('hex');
  } else if (op === 'load-verify' || op === 'load-verify-par') {
    await lib.ready();
    t0 = performance.now();
    const f = await lib.readSafetensors(path, { workers: op === 'load-verify' ? 0 : 2 });
    if (Object.keys(f.tensors).length !== TENSORS || f.sidecar === null) throw new Error('not loaded/verified');
  } else if (op === 'verify-stream' || op === 'verify-par') {
    await lib.ready();
    t0 = performance.now();
    const r = await lib.verify(path, { workers: op === 'verify-stream' ? 0 : 2 });
    if (r.sidecar !== 'verified') throw new Error('not verified');
  } else if (op === 'baseline-write' || op === 'write' || op === 'write-par') {
    const t = weights();
    await lib.ready();
    t0 = performance.now();
    if (op !== 'baseline-write') await lib.writeSafetensors(path, t, { workers: op === 'write' ? 0 : 2 });
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
  } else if (op === 'tf-save-safeckpt' || op === 'tf-save-tfio') {
    const tf = await tfjs();
    const t = tfWeights(tf);
    if (op === 'tf-save-tfio') mkdirSync(path, { recursive: true });
    await lib.ready();
    t0 = performance.now();
    if (op === 'tf-save-safeckpt') await lib.writeSafetensors(path, t);
    else {
      // tf.io's format: the weights concatenated in weights.bin, their specs in model.json's weightsManifest
      const { data, specs } = await tf.io.encodeWeights(t);
      writeFileSync(join(path, 'weights.bin'), new Uint8Array(data));
      writeFileSync(join(path, 'model.json'), JSON.stringify({ format: 'weights', weightsManifest: [{ paths: ['weights.bin'], weights: specs }] }));
    }
    tensors = Object.keys(t).length;
  } else if (op === 'tf-load-safeckpt' || op === 'tf-load-tfio') {
    const tf = await tfjs();
    await lib.ready();
    t0 = performance.now();
    let out;
    if (op === 'tf-load-safeckpt') {
      const f = await lib.readSafetensors(path);
      out = Object.fromEntries(Object.values(f.tensors).map((v) => [v.name, tf.tensor(v.toFloat32(), v.shape, 'float32')]));
    } else {
      const manifest = JSON.parse(readFileSync(join(path, 'model.json'), 'utf8'));
      const bin = readFileSync(join(path, 'weights.bin'));
      out = tf.io.decodeWeights(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength), manifest.weightsManifest[0].weights);
    }
    tensors = Object.keys(out).length;
  }
  const ms = performance.now() - t0;
  console.log(JSON.stringify({ ms, maxRssBytes: process.resourceUsage().maxRSS * 1024, engine: lib.hashEngineInfo().engine, tensors }));
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

function removeOutputs(path) {
  for (const p of [path, `${path}.meta.json`]) rmSync(p, { recursive: true, force: true });
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'safeckpt-bench-'));
  try {
    const file = join(dir, 'model.safetensors');
    const runs = {};
    const results = {};
    /** Runs the ops of a group in turn, ROUNDS times; `fresh` ops get an emptied target and a settled disk first. */
    const group = (ops, { fresh = false } = {}) => {
      for (let i = 0; i < ROUNDS; i++) {
        for (const [op, path] of ops) {
          if (fresh) freshTarget(path, `${path}.meta.json`);
          (runs[op] ??= []).push(run(op, path));
        }
      }
      for (const [op] of ops) {
        const rs = runs[op];
        results[op] = { ms: median(rs.map((r) => r.ms)), all: rs.map((r) => r.ms), rss: Math.max(...rs.map((r) => r.maxRssBytes)), engine: rs[0].engine };
      }
    };
    const writes = [['write', join(dir, 'one.safetensors')], ['write-par', join(dir, 'par.safetensors')], ['baseline-write', join(dir, 'plain.safetensors')]];
    group(writes, { fresh: true });
    if (readFileSync(join(dir, 'par.safetensors.meta.json'), 'utf8') !== readFileSync(join(dir, 'one.safetensors.meta.json'), 'utf8').replace('"one.safetensors"', '"par.safetensors"')) {
      throw new Error('the parallel write made a different sidecar');
    }
    for (const [, path] of writes) removeOutputs(path);
    // The file every read op reads, made once (not timed) and left in the page cache: reads are warm for all.
    run('write', file);
    freshTarget();
    const size = statSync(file).size;
    group([['baseline-read', file], ['load-verify', file], ['load-verify-par', file], ['verify-stream', file], ['verify-par', file]]);
    removeOutputs(file);
    const tfio = join(dir, 'tfio');
    const tfFile = join(dir, 'tf.safetensors');
    group([['tf-save-safeckpt', tfFile], ['tf-save-tfio', tfio]], { fresh: true });
    run('tf-save-tfio', tfio);
    run('tf-save-safeckpt', tfFile);
    group([['tf-load-safeckpt', tfFile], ['tf-load-tfio', tfio]]);
    const tfSize = statSync(tfFile).size;
    const mb = (b) => (b / 1048576).toFixed(0);
    const rows = [
      ['load + verify, one thread (readSafetensors, workers: 0)', 'load-verify', 'baseline-read', '≤ 1.10×', size],
      ['load + verify, 2 hashing workers (readSafetensors, workers: 2)', 'load-verify-par', 'baseline-read', '≤ 0.625× (≥ 1.6× faster)', size],
      ['verify only, streamed, one thread (verify, workers: 0)', 'verify-stream', 'baseline-read', '—', size],
      ['verify only, 2 workers reading the file themselves (verify, workers: 2)', 'verify-par', 'baseline-read', '≤ 0.625×', size],
      ['fs.readFile + node:crypto SHA-256 (baseline)', 'baseline-read', 'baseline-read', '', size],
      ['streamed write + sidecar, atomic, one thread (writeSafetensors, workers: 0)', 'write', 'baseline-write', '—', size],
      ['streamed write + sidecar, atomic, file hash on a worker (workers: 2)', 'write-par', 'baseline-write', '≤ 1.15×', size],
      ['write + node:crypto SHA-256 + fsync (baseline)', 'baseline-write', 'baseline-write', '', size],
      [`save ${TF_TENSORS} tf.Tensors: writeSafetensors (atomic, fsync, hashed sidecar)`, 'tf-save-safeckpt', 'tf-save-tfio', '—', tfSize],
      ['save the same: tf.io.encodeWeights + model.json/weights.bin (no fsync, no hash)', 'tf-save-tfio', 'tf-save-tfio', '', tfSize],
      ['load them back as tf.Tensors: readSafetensors (verified) + tf.tensor', 'tf-load-safeckpt', 'tf-load-tfio', '—', tfSize],
      ['load the same: readFile + tf.io.decodeWeights (nothing verified)', 'tf-load-tfio', 'tf-load-tfio', '', tfSize],
    ];
    console.log(`file: ${mb(size)} MiB, ${TENSORS} F32 tensors (tf.io rows: ${mb(tfSize)} MiB, ${TF_TENSORS} tensors); hash engine: ${results['load-verify'].engine}; ` +
      `median of ${ROUNDS} rounds, ops interleaved, each run in a fresh process; writes start from a removed target, sync and a ${SETTLE_MS} ms pause; reads from the page cache; ` +
      `load average at start ${startLoad}\n`);
    console.log('| operation | time (median) | ratio vs baseline | per-round ratios | target | MB/s | peak RSS | RSS / file |');
    console.log('|---|---|---|---|---|---|---|---|');
    for (const [label, op, base, target, bytes] of rows) {
      const r = results[op];
      const perRound = r.all.map((ms, i) => (ms / results[base].all[i]).toFixed(2)).join(' ');
      console.log(`| ${label} | ${(r.ms / 1000).toFixed(2)} s | ${(r.ms / results[base].ms).toFixed(2)}× | ${op === base ? '' : perRound} | ${target} | ${(bytes / 1e6 / (r.ms / 1000)).toFixed(0)} | ${mb(r.rss)} MiB | ${(r.rss / bytes).toFixed(2)} |`);
    }
    console.log(`\nload average at end ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const startLoad = loadavg().map((x) => x.toFixed(1)).join(' ');
if (process.argv[2] === '--child') await child(process.argv[3], process.argv[4]);
else await main();

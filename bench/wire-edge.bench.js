// The wire bench of bench/wire-browser.bench.js in the fetch-based server
// runtimes (issue #17): Deno (safeckpt from dist/) and workerd, Cloudflare's
// Workers runtime (the package's workerd entry, bundled with the conditions
// wrangler sets, the core as a `wasm` module). Same model, same nginx, same
// ops (bench/wire/ops.js), interleaved round by round; round 1 checks every
// result byte for byte. In workerd the time is taken by the driver around
// each request (a Worker's clock does not advance while it computes).
//
//   npm run bench wire-edge           (SAFECKPT_BENCH_ROUNDS=5, SAFECKPT_BENCH_MIB=256, SAFECKPT_BENCH_RUNTIMES=deno,workerd)
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchDir, makeModel, startNginx, load, printTable, MIB } from './_wire.js';

const ROUNDS = Number(process.env.SAFECKPT_BENCH_ROUNDS || 5);
const BYTES = Number(process.env.SAFECKPT_BENCH_MIB || 256) * MIB;
const RUNTIMES = (process.env.SAFECKPT_BENCH_RUNTIMES || 'deno,workerd').split(',');
const here = fileURLToPath(new URL('.', import.meta.url));
const root = join(here, '..');

const { dir, onCleanup } = benchDir('wire-edge');
const www = join(dir, 'www');
mkdirSync(www);
const model = await makeModel(www, { bytes: BYTES });
const origin = await startNginx(www, dir, onCleanup);
const head = readFileSync(model.file).subarray(0, 8);
const m = {
  url: `${origin}/model.safetensors`, size: model.size, dataStart: 8 + Number(new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true)),
  names: model.names, sha256: model.sidecar.sha256,
  offsets: Object.fromEntries(model.names.map((n) => [n, model.sidecar.tensors[n].data_offsets])),
  digests: Object.fromEntries(model.names.map((n) => [n, model.sidecar.tensors[n].sha256])),
};

const OPS = [
  ['fetch', '`fetch` + `arrayBuffer` only (the wire)'],
  ['peer', '**peer**: `fetch` + `arrayBuffer` + `crypto.subtle.digest` of each tensor, vs the sidecar'],
  ['peer-file', '`fetch` + one WebCrypto digest of the whole file'],
  ['verify', '`verify(url)` (default)'],
  ['verify-w0', '`verify(url, { workers: 0 })`'],
  ['load', '`readSafetensors(url)` + `load()` of every tensor, verified'],
  ['range-peer', '**range peer**: `fetch(Range)` of one 16 MiB tensor + WebCrypto digest'],
  ['range', 'one tensor of an open file (`file.tensor(name)`), range-fetched and verified'],
];
const peerOf = (op) => (op.startsWith('range') ? 'range-peer' : 'peer');
const notes = { verify: 'reported', load: 'reported', range: 'reported' };

async function deno() {
  // No worker threads to compare with here beyond what verify decides; verify-w0 is the same path in Deno.
  const order = OPS.map(([op]) => op);
  const before = load();
  const r = spawnSync(join(root, 'node_modules', '.bin', 'deno'), ['run', '--quiet', '--allow-net=127.0.0.1', '--allow-read', '--allow-env',
    join(here, 'wire', 'deno-run.js'), JSON.stringify(m), String(ROUNDS), order.join(',')], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`deno exited with ${r.status}: ${r.stderr}`);
  const out = JSON.parse(r.stdout.trim().split('\n').pop());
  console.log(`### ${out.runtime}, hash engine ${out.engine.engine ?? "?"}${out.engine.webCrypto ? ' + WebCrypto' : ''}\n`);
  console.log(`load average before / after: ${before} | ${load()}\n`);
  printTable(OPS, out.times, peerOf, notes);
}

async function workerd() {
  const esbuild = (await import('esbuild')).default;
  const wd = join(dir, 'workerd');
  mkdirSync(wd);
  await esbuild.build({ entryPoints: [join(here, 'wire', 'workerd-entry.js')], bundle: true, format: 'esm', platform: 'browser', target: 'es2022',
    conditions: ['workerd', 'worker', 'browser'], mainFields: ['browser', 'module', 'main'], outfile: join(wd, 'worker.js'), logLevel: 'warning',
    alias: { safeckpt: join(root, 'dist', 'index.workerd.js') },
    plugins: [{ name: 'wasm-modules', setup(b) { b.onResolve({ filter: /\.wasm$/ }, (a) => ({ path: './' + a.path.split('/').pop(), external: true })); } }] });
  for (const f of ['core.wasm', 'sha256.wasm']) copyFileSync(join(root, 'dist', 'core', f), join(wd, f));
  writeFileSync(join(wd, 'config.capnp'), `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "bench", worker = .bench), (name = "loopback", network = (allow = ["local"])) ],
  sockets = [ (name = "http", address = "127.0.0.1:0", http = (), service = "bench") ],
);
const bench :Workerd.Worker = (
  modules = [ (name = "worker.js", esModule = embed "worker.js"), (name = "core.wasm", wasm = embed "core.wasm"), (name = "sha256.wasm", wasm = embed "sha256.wasm") ],
  compatibilityDate = "2025-09-01",
  globalOutbound = "loopback",
);
`);
  const child = spawn(join(root, 'node_modules', '.bin', 'workerd'), ['serve', join(wd, 'config.capnp'), '--control-fd', '3'], { cwd: wd, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
  onCleanup(() => child.kill('SIGKILL'));
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  const port = await new Promise((ok, fail) => {
    let control = '';
    child.stdio[3].on('data', (d) => {
      control += d;
      for (const line of control.split('\n')) { try { const x = JSON.parse(line); if (x.event === 'listen') ok(x.port); } catch {} }
    });
    child.on('exit', (code) => fail(new Error(`workerd exited (${code}): ${log}`)));
  });
  const base = `http://127.0.0.1:${port}`;
  const call = async (path, init) => {
    const res = await fetch(base + path, init);
    const text = await res.text();
    if (!res.ok) throw new Error(`workerd ${path}: ${text}\n${log}`);
    return text;
  };
  await call('/init', { method: 'POST', body: JSON.stringify(m) });
  const order = OPS.map(([op]) => op);
  const times = Object.fromEntries(order.map((op) => [op, []]));
  const before = load();
  let engine = '';
  for (let r = 0; r < ROUNDS; r++) {
    for (const op of order) {
      if (op === 'range') await call('/run?op=range:setup');
      const t0 = performance.now();
      await call(`/run?op=${op}`);
      times[op].push(performance.now() - t0);
      if (r === 0) engine = await call('/check');
    }
  }
  child.kill('SIGTERM');
  const e = JSON.parse(engine);
  console.log(`### workerd (${JSON.parse(readFileSync(join(root, 'node_modules', 'workerd', 'package.json'), 'utf8')).version}), hash engine ${e.engine ?? "?"}${e.webCrypto ? ' + WebCrypto' : ''}; times taken by the driver around each request\n`);
  console.log(`load average before / after: ${before} | ${load()}\n`);
  printTable(OPS, times, peerOf, notes);
}

console.log(`${(model.size / MIB).toFixed(0)} MiB, ${model.names.length} F32 tensors, nginx on 127.0.0.1 (no-store); median of ${ROUNDS} rounds, ops interleaved; every result checked byte for byte in round 1.\n`);
for (const rt of RUNTIMES) {
  if (rt === 'deno') await deno();
  else if (rt === 'workerd') await workerd();
  console.log('');
}
process.exit(0);

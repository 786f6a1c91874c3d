#!/usr/bin/env node
// Serves worker.js in workerd (the open-source Workers runtime) on 127.0.0.1, as `wrangler dev` would:
// bundled by esbuild with the conditions wrangler sets (workerd, worker, browser), safeckpt's workerd entry
// (its WASM core arrives as a `wasm` module: Workers refuse to compile WebAssembly from bytes), tf-workerd.js in
// place of tf.js, and the AWS_* variables and CHECKPOINT_ROOT as text bindings.
//   CHECKPOINT_ROOT=s3://bucket/prefix AWS_ENDPOINT_URL=… AWS_ACCESS_KEY_ID=… AWS_SECRET_ACCESS_KEY=… \
//     node examples/serverless-resume/workerd.js        → prints the URL; POST to it to invoke
import esbuild from 'esbuild';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');
const BINDINGS = ['CHECKPOINT_ROOT', 'AWS_ENDPOINT_URL', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'];

/** Bundles the Worker into `dir`: worker.js, core.wasm and sha256.wasm. */
export async function bundleWorker(dir) {
  await esbuild.build({
    entryPoints: [join(here, 'worker.js')], bundle: true, format: 'esm', platform: 'browser', target: 'es2022',
    conditions: ['workerd', 'worker', 'browser'], mainFields: ['browser', 'module', 'main'], outfile: join(dir, 'worker.js'),
    logLevel: 'error', external: ['node:*'],
    plugins: [{ name: 'worker', setup(b) {
      b.onResolve({ filter: /\.wasm$/ }, (a) => ({ path: './' + a.path.split('/').pop(), external: true }));
      // By path no export condition applies: take what `import 'safeckpt'` resolves to under `workerd`.
      b.onResolve({ filter: /\/dist\/index\.js$/ }, () => ({ path: join(repo, 'dist', 'index.workerd.js') }));
      b.onResolve({ filter: /^\.\/tf\.js$/ }, () => ({ path: join(here, 'tf-workerd.js') }));
    } }],
  });
  for (const f of ['core.wasm', 'sha256.wasm']) copyFileSync(join(repo, 'dist', 'core', f), join(dir, f));
}

/**
 * Starts workerd serving the Worker with `bindings` (defaults: the process's variables); resolves to its URL and
 * a stop(). The Worker may reach loopback only (an S3 engine on 127.0.0.1); a deployment reaches the internet.
 */
export async function serveWorker({ bindings = process.env, log = () => {} } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'safeckpt-serverless-worker-'));
  await bundleWorker(dir);
  const text = BINDINGS.filter((n) => bindings[n] !== undefined).map((n) => `(name = ${JSON.stringify(n)}, text = ${JSON.stringify(bindings[n])})`);
  writeFileSync(join(dir, 'config.capnp'), `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "main", worker = .worker), (name = "net", network = (allow = ["local", "public"]))],
  sockets = [(name = "http", address = "127.0.0.1:0", http = (), service = "main")],
);
const worker :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "worker.js"), (name = "core.wasm", wasm = embed "core.wasm"), (name = "sha256.wasm", wasm = embed "sha256.wasm")],
  compatibilityDate = "2025-09-01",
  bindings = [${text.join(', ')}],
  globalOutbound = "net",
);
`);
  const child = spawn(join(repo, 'node_modules', '.bin', 'workerd'), ['serve', join(dir, 'config.capnp'), '--control-fd', '3'], {
    cwd: dir, stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (d) => log(String(d)));
  child.stderr.on('data', (d) => log(String(d)));
  const stop = () => new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) { rmSync(dir, { recursive: true, force: true }); return done(); }
    child.once('exit', () => { rmSync(dir, { recursive: true, force: true }); done(); });
    child.kill('SIGTERM');
  });
  try {
    const port = await new Promise((ok, fail) => {
      let control = '';
      child.stdio[3].on('data', (d) => {
        control += d;
        for (const line of control.split('\n')) {
          try { const m = JSON.parse(line); if (m.event === 'listen' && m.socket === 'http') ok(m.port); } catch {}
        }
      });
      child.on('error', fail);
      child.on('exit', (code) => fail(new Error(`workerd exited (code ${code}) before listening`)));
    });
    return { url: `http://127.0.0.1:${port}`, pid: child.pid, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (!process.env.CHECKPOINT_ROOT) {
    console.error('set CHECKPOINT_ROOT=s3://bucket/prefix and the AWS_* variables (node scripts/rgw.js starts a local S3 engine)');
    process.exit(2);
  }
  const w = await serveWorker({ log: (s) => process.stderr.write(s) });
  console.log(`serving the Worker at ${w.url} (POST ${w.url}/?budgetMs=2000); Ctrl-C stops it`);
  process.on('SIGINT', () => w.stop().then(() => process.exit(0)));
}

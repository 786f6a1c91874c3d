#!/usr/bin/env node
// `npm test`: runs the SAME test files in Node, Deno, Bun and headless Chromium,
// and the ones that apply there in workerd (Cloudflare Workers), and prints one
// line per runtime and a total. Any runtime that fails, crashes, cannot start or
// runs no test makes the whole run fail.
//
// It also starts what the tests need on 127.0.0.1: nginx serving test files
// (real Range support), a server that ignores Range, the page server for
// Chromium and workerd, and — when a selected test file uses it — Ceph RGW as
// the S3 engine (scripts/rgw.js), stopped again at the end.
// Usage: node test/run.js [--only node,deno,bun,chromium,workerd] [file filter…]
import { spawn, spawnSync } from 'node:child_process';
import { createServer, get as httpGet } from 'node:http';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync, rmSync, readdirSync, statSync, existsSync, chmodSync } from 'node:fs';
import { join, dirname, resolve, extname } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import esbuild from 'esbuild';
import { createHash } from 'node:crypto';
import { startRgw } from '../scripts/rgw.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const onlyIdx = args.indexOf('--only');
const only = onlyIdx >= 0 ? args[onlyIdx + 1].split(',') : ['node', 'deno', 'bun', 'chromium', 'workerd'];
const filters = args.filter((a, i) => !a.startsWith('--') && (onlyIdx < 0 || i !== onlyIdx + 1));
const TAG = 'SAFECKPT_RESULT';
const PER_RUNTIME_TIMEOUT_MS = 15 * 60 * 1000;

const work = mkdtempSync(join(tmpdir(), 'safeckpt-run-'));
// Each runtime gets its own TMPDIR inside the run's folder, so whatever a test forgets to remove goes when the
// run ends (and is reported), instead of piling up in /tmp run after run.
const tmpFor = (name) => { const d = join(work, 'tmp', name); mkdirSync(d, { recursive: true }); return d; };
const cleanups = [() => rmSync(work, { recursive: true, force: true })];
const cleanup = () => { while (cleanups.length) { try { cleanups.pop()(); } catch {} } };
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { cleanup(); process.exit(130); });

// ---------------------------------------------------------------- servers
const MIME = { '.js': 'text/javascript', '.html': 'text/html', '.json': 'application/json', '.wasm': 'application/wasm' };

function listen(server) {
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok(`http://127.0.0.1:${server.address().port}`));
  });
}

/** Serves the repository (for the browser page) and lists folders at /__list. */
async function startPageServer(bundlePath, env) {
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    res.setHeader('Access-Control-Allow-Origin', '*');
    if (url.pathname === '/') {
      res.setHeader('Content-Type', 'text/html');
      res.end(`<!doctype html><meta charset="utf-8"><title>safeckpt tests</title>
<script>window.SAFECKPT_TEST_ENV = ${JSON.stringify(env)};</script>
<script type="module" src="/__bundle.js"></script>`);
      return;
    }
    if (url.pathname === '/__bundle.js') {
      res.setHeader('Content-Type', 'text/javascript');
      res.end(readFileSync(bundlePath));
      return;
    }
    // Browser tests cannot write files: they PUT generated ones into the folder nginx serves, and read its log.
    if (url.pathname.startsWith('/__served/') && req.method === 'PUT') {
      const file = resolve(env.SAFECKPT_TEST_HTTP_ROOT, '.' + decodeURIComponent(url.pathname.slice('/__served'.length)));
      if (!file.startsWith(env.SAFECKPT_TEST_HTTP_ROOT + '/')) { res.statusCode = 403; res.end(); return; }
      const parts = [];
      req.on('data', (d) => parts.push(d));
      req.on('end', () => {
        mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
        writeFileSync(file, Buffer.concat(parts), { mode: 0o644 });
        res.end();
      });
      return;
    }
    if (url.pathname === '/__nginx-log') {
      res.setHeader('Content-Type', 'text/plain');
      res.end(readFileSync(env.SAFECKPT_TEST_NGINX_LOG));
      return;
    }
    if (url.pathname === '/__list') {
      const dir = join(root, url.searchParams.get('dir') || '');
      if (!dir.startsWith(root)) { res.statusCode = 403; res.end(); return; }
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify(readdirSync(dir).sort()));
      return;
    }
    const file = join(root, decodeURIComponent(url.pathname));
    if (!file.startsWith(root + '/') || !existsSync(file) || statSync(file).isDirectory()) {
      res.statusCode = 404; res.end('not found'); return;
    }
    res.setHeader('Content-Type', MIME[extname(file)] || 'application/octet-stream');
    res.end(readFileSync(file));
  });
  cleanups.push(() => server.close());
  return listen(server);
}

/** A server that ignores Range and always sends the whole file (as some CDNs and dev servers do). */
async function startNoRangeServer(dir) {
  const server = createServer((req, res) => {
    const file = join(dir, decodeURIComponent(new URL(req.url, 'http://x').pathname));
    res.setHeader('Access-Control-Allow-Origin', '*');
    if (!file.startsWith(dir) || !existsSync(file) || statSync(file).isDirectory()) { res.statusCode = 404; res.end(); return; }
    const body = readFileSync(file);
    res.setHeader('Content-Length', body.length);
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  cleanups.push(() => server.close());
  return listen(server);
}

/**
 * Servers that misbehave on purpose, for the HTTP bounds (test/http-hostile.test.js):
 *   /never/…      answers nothing (CORS preflights excepted), holding the connection
 *   /slow/…       sends headers, then one byte per second
 *   /gzip/…       a gzip bomb: 16 MiB of zeros as `Content-Encoding: gzip`, whatever was asked
 *   /encoding/…   answers with the Accept-Encoding it was sent, as JSON
 */
async function startHostileServer() {
  const { gzipSync } = await import('node:zlib');
  const bomb = gzipSync(Buffer.alloc(16 << 20));
  const sockets = new Set();
  const timers = new Set();
  const server = createServer((req, res) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    // Whatever a preflight asks for (an S3 client's Authorization and x-amz-* too), so a browser sends the request.
    res.setHeader('Access-Control-Allow-Headers', req.headers['access-control-request-headers'] ?? 'Range');
    res.setHeader('Access-Control-Allow-Methods', 'GET, HEAD, PUT, POST, DELETE');
    res.setHeader('Access-Control-Expose-Headers', 'Content-Range, Content-Length, Content-Encoding');
    if (req.method === 'OPTIONS') { res.statusCode = 204; res.end(); return; }
    const path = new URL(req.url, 'http://x').pathname;
    if (path.startsWith('/never/')) return; // no answer, ever
    if (path.startsWith('/slow/')) {
      res.writeHead(200, { 'Content-Length': 100_000 });
      const t = setInterval(() => res.write('x'), 1000);
      timers.add(t);
      res.write('x');
      res.on('close', () => { clearInterval(t); timers.delete(t); });
      return;
    }
    if (path.startsWith('/gzip/')) {
      res.writeHead(200, { 'Content-Encoding': 'gzip', 'Content-Length': bomb.length });
      res.end(req.method === 'HEAD' ? undefined : bomb);
      return;
    }
    if (path.startsWith('/encoding/')) {
      const body = JSON.stringify({ 'accept-encoding': req.headers['accept-encoding'] ?? null });
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    res.statusCode = 404; res.end();
  });
  server.on('connection', (c) => { sockets.add(c); c.on('close', () => sockets.delete(c)); });
  cleanups.push(() => { for (const t of timers) clearInterval(t); for (const c of sockets) c.destroy(); server.close(); });
  return listen(server);
}

/** Debian's nginx on a free loopback port, serving `dir` with real Range support and a byte log. */
async function startNginx(dir) {
  const nginx = ['/usr/sbin/nginx', '/usr/bin/nginx'].find(existsSync);
  if (!nginx) throw new Error('nginx is not installed (apt-get install -y nginx-light); the HTTP range tests need a real server');
  const probe = createServer();
  const port = Number(new URL(await listen(probe)).port);
  await new Promise((ok) => probe.close(ok));
  const prefix = join(work, 'nginx');
  mkdirSync(join(prefix, 'logs'), { recursive: true });
  const conf = join(prefix, 'nginx.conf');
  writeFileSync(conf, `daemon on;
pid ${prefix}/nginx.pid;
error_log ${prefix}/logs/error.log;
worker_processes 1;
events { worker_connections 64; }
http {
  # nginx's "combined" format plus the Range header asked for, so tests can check which bytes were fetched.
  log_format ranges '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" "$http_range"';
  access_log ${prefix}/logs/access.log ranges;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  types { application/octet-stream safetensors; application/json json; }
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:${port};
    root ${dir};
    location / {
      add_header Access-Control-Allow-Origin * always;
      add_header Access-Control-Allow-Headers Range always;
      add_header Access-Control-Expose-Headers "Content-Range, Content-Length, Accept-Ranges" always;
      if ($request_method = OPTIONS) { return 204; }
    }
  }
}
`);
  const r = spawnSync(nginx, ['-c', conf, '-p', prefix], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`nginx did not start: ${r.stderr || r.stdout}`);
  cleanups.push(() => {
    try { process.kill(Number(readFileSync(join(prefix, 'nginx.pid'), 'utf8')), 'SIGTERM'); } catch {}
  });
  return `http://127.0.0.1:${port}`;
}

/**
 * Ceph RGW with one bucket for the tests, open to the page origin (CORS), so
 * the browser tests reach it too. Started only when a selected test file uses
 * it; if it cannot start, the run fails with the reason (never a silent skip).
 */
async function startS3(files) {
  const uses = files.some((f) => readFileSync(join(root, 'test', f), 'utf8').includes('SAFECKPT_TEST_S3'));
  if (!uses) return {};
  let rgw;
  try {
    rgw = await startRgw();
  } catch (e) {
    s3Failure = `Ceph RGW (the S3 engine of the tests) did not start: ${e.message}`;
    console.log(s3Failure);
    return { SAFECKPT_TEST_S3_ERROR: s3Failure };
  }
  rgwHandle = rgw;
  cleanups.push(() => { rgw.stop(); });
  const bucket = 'safeckpt-test';
  const { signRequest } = await import('../dist/index.js');
  const credentials = { accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey };
  const send = async (query, body = '', extra = {}) => {
    const u = new URL(rgw.endpoint);
    const bytes = new TextEncoder().encode(body);
    const headers = await signRequest({
      method: 'PUT', host: u.host, path: `/${bucket}`, query, region: rgw.region, credentials, headers: extra,
      payloadHash: createHash('sha256').update(bytes).digest('hex'),
    });
    const r = await fetch(`${rgw.endpoint}/${bucket}${query.length ? '?' + query.map(([k, v]) => v ? `${k}=${v}` : k).join('&') : ''}`, { method: 'PUT', headers, body: bytes });
    if (!r.ok) throw new Error(`RGW set-up (${query.map((q) => q[0]).join() || 'create bucket'}): HTTP ${r.status} ${await r.text()}`);
  };
  await send([]);
  const cors = `<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin>${['GET', 'PUT', 'POST', 'DELETE', 'HEAD'].map((m) => `<AllowedMethod>${m}</AllowedMethod>`).join('')}` +
    `<AllowedHeader>*</AllowedHeader>${['ETag', 'Content-Range', 'Content-Length'].map((h) => `<ExposeHeader>${h}</ExposeHeader>`).join('')}</CORSRule></CORSConfiguration>`;
  await send([['cors', '']], cors, { 'content-md5': createHash('md5').update(cors).digest('base64') });
  return {
    SAFECKPT_TEST_S3_ENDPOINT: rgw.endpoint, SAFECKPT_TEST_S3_BUCKET: bucket, SAFECKPT_TEST_S3_REGION: rgw.region,
    SAFECKPT_TEST_S3_ACCESS_KEY_ID: rgw.accessKeyId, SAFECKPT_TEST_S3_SECRET_ACCESS_KEY: rgw.secretAccessKey,
  };
}
let s3Failure = null;
let rgwHandle = null;

function selectedTestFiles() {
  return readdirSync(join(root, 'test')).filter((f) => f.endsWith('.test.js'))
    .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x))).sort();
}

// ---------------------------------------------------------------- runtimes
function parseResult(out) {
  const line = out.split('\n').reverse().find((l) => l.startsWith(TAG + ' '));
  return line ? JSON.parse(line.slice(TAG.length + 1)) : null;
}

function runProcess(name, cmd, cmdArgs, env) {
  return new Promise((done) => {
    const tmp = tmpFor(name);
    const child = spawn(cmd, cmdArgs, { cwd: root, env: { ...process.env, ...env, TMPDIR: tmp, TMP: tmp, TEMP: tmp }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const onData = (d) => { out += d; };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setTimeout(() => { out += `\n${name}: timed out after ${PER_RUNTIME_TIMEOUT_MS} ms\n`; child.kill('SIGKILL'); }, PER_RUNTIME_TIMEOUT_MS);
    child.on('error', (e) => { out += `\n${name}: could not start: ${e.message}\n`; });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const left = readdirSync(tmp);
      if (left.length) {
        const kinds = [...new Set(left.map((f) => f.replace(/[-_.][^-_.]*$/, '')))].slice(0, 8).join(', ');
        out += `\n${name}: tests left ${left.length} entries in their temp folder (${kinds}) — removed with the run\n`;
      }
      done({ out, code, signal, result: parseResult(out), leftovers: left.length });
    });
  });
}

function bundleForBrowser() {
  const files = selectedTestFiles();
  const entry = join(root, 'test', '.browser-entry.generated.js');
  writeFileSync(entry, `import { runAll } from './_harness.js';
const modules = [${files.map((f) => `[${JSON.stringify(f)}, () => import('./${f}')]`).join(',\n  ')}];
const lines = [];
runAll(modules, (l) => { lines.push(l); console.log(l); }).then((r) => { window.__SAFECKPT_DONE = { ...r, lines }; },
  (e) => { window.__SAFECKPT_DONE = { passed: 0, failed: 1, lines: [String(e && e.stack || e)] }; });
`);
  // The lazily loaded modules' bare import of the entry (scripts/check-imports.js) is dropped in a bundle of
  // dist/ (package.json marks it side-effect free) on purpose; from node_modules esbuild does not warn about it.
  const logOverride = { 'ignored-bare-import': 'silent' };
  // Module Workers (fresh realms for tests that need one) are bundled to build/test-workers/, served from the repo root.
  for (const w of readdirSync(join(root, 'test')).filter((f) => f.endsWith('.worker.js'))) {
    esbuild.buildSync({ entryPoints: [join(root, 'test', w)], bundle: true, format: 'esm', platform: 'browser', target: 'es2022',
      external: ['node:*'], outfile: join(root, 'build', 'test-workers', w), logLevel: 'warning', logOverride });
  }
  const out = join(work, 'bundle.js');
  try {
    esbuild.buildSync({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'browser', target: 'es2022',
      external: ['node:*'], outfile: out, logLevel: 'warning', logOverride });
  } finally {
    rmSync(entry, { force: true });
  }
  // A test helper with a static `import … from 'node:…'`, even one reached only by a dynamic import behind a
  // runtime check, has that import hoisted to the top of the bundle: the page then fails to load and the run
  // would wait out its whole timeout. Refuse such a bundle at once, naming the imports.
  const hoisted = readFileSync(out, 'utf8').match(/^import [^;]*from "node:[^"]+";$/gm);
  if (hoisted) throw new Error(`the browser bundle imports node: modules at its top (a test helper imports them statically; load it with a dynamic import behind hasFs, or pass what it needs in): ${hoisted.join(' ')}`);
  return out;
}

async function runChromium(env) {
  const { chromium } = await import('playwright-core');
  const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
  if (!existsSync(executablePath)) {
    return { out: `chromium: ${executablePath} not found (apt-get install -y chromium)`, result: null };
  }
  let bundle;
  try {
    bundle = bundleForBrowser();
  } catch (e) {
    return { out: `chromium: ${e.message}\n`, result: null };
  }
  const pageUrl = await startPageServer(bundle, env);
  const profile = join(work, 'chromium-profile');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  cleanups.push(() => context.close().catch(() => {}));
  let out = '';
  try {
    const page = context.pages()[0] || (await context.newPage());
    page.on('console', (m) => { out += m.text() + '\n'; });
    page.on('pageerror', (e) => { out += `page error: ${e.stack || e}\n`; });
    await page.goto(pageUrl);
    const handle = await page.waitForFunction(() => window.__SAFECKPT_DONE, null, { timeout: PER_RUNTIME_TIMEOUT_MS, polling: 200 });
    const done = await handle.jsonValue();
    return { out, result: { passed: done.passed, failed: done.failed } };
  } catch (e) {
    out += `chromium: ${e.message}\n`;
    return { out, result: null };
  } finally {
    await context.close().catch(() => {});
  }
}

/**
 * The test files that apply in Cloudflare Workers: what exists there (the core, hashes, memory and HTTP
 * stores, read / write / verify / sign, checkpoints to a memory store, the logger's console and memory sinks).
 * No filesystem, OPFS, IDB, child processes or worker threads exist in workerd; TensorFlow.js runs on its CPU
 * backend there (its WASM backend cannot compile).
 */
const WORKERD_FILES = ['core-loading', 'header', 'hash', 'safetensors-read', 'safetensors-write', 'verify', 'store', 'log', 'checkpoint', 'abort-progress', 'checkpoint-abort', 'wire', 'verify-one-pass', 'signatures', 'slice', 'checkpoint-parts', 'checkpoint-s3', 's3'];

/**
 * Runs the workerd subset inside workerd itself: the test files bundled as a Worker module with the
 * conditions wrangler sets (workerd, worker, browser), the package's workerd entry (dist/index.workerd.js)
 * and dist/core/core.wasm and sha256.wasm as `wasm` modules (the way Workers load WebAssembly), served by
 * node_modules/.bin/workerd on 127.0.0.1; one request runs them.
 * The Worker reaches only loopback (fixtures through the page server, nginx for HTTP stores).
 */
async function runWorkerd(env) {
  const bin = join(root, 'node_modules', '.bin', 'workerd');
  const files = readdirSync(join(root, 'test')).filter((f) => WORKERD_FILES.includes(f.replace(/\.test\.js$/, '')))
    .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x))).sort();
  if (files.length === 0) return { out: 'workerd: no test file of the workerd subset matches the filter', result: { passed: 0, failed: 0 }, skipped: true };
  const dir = join(work, 'workerd');
  mkdirSync(dir, { recursive: true });
  const entry = join(root, 'test', '.workerd-entry.generated.js');
  writeFileSync(entry, `import { runAll } from './_harness.js';
const modules = [${files.map((f) => `[${JSON.stringify(f)}, () => import('./${f}')]`).join(',\n  ')}];
export default {
  async fetch(request, env) {
    globalThis.SAFECKPT_TEST_ENV = JSON.parse(env.SAFECKPT_TEST_ENV);
    const lines = [];
    try {
      await runAll(modules, (l) => lines.push(l));
    } catch (e) {
      lines.push('workerd: the run threw: ' + (e && e.stack || e));
    }
    return new Response(lines.join('\\n') + '\\n');
  },
};
`);
  try {
    await esbuild.build({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'browser', target: 'es2022',
      conditions: ['workerd', 'worker', 'browser'], mainFields: ['browser', 'module', 'main'], outfile: join(dir, 'tests.js'),
      // Node-only branches of the tests (gated by runtime) stay imports that are never run here.
      external: ['node:*'], logLevel: 'warning', logOverride: { 'ignored-bare-import': 'silent' }, // the lazy-module hint (as for Chromium)
      plugins: [{ name: 'wasm-modules', setup(b) {
        // As wrangler does: a .wasm import stays an import, of a module the config provides.
        b.onResolve({ filter: /\.wasm$/ }, (a) => ({ path: './' + a.path.split('/').pop(), external: true }));
        // The tests import ../dist/index.js by path, where no export condition applies: give them what the
        // package name resolves to under `workerd` (test/worker-example.test.js goes through the name itself);
        // so does the internal entry (dist/internal.js), which re-exports the public one.
        const workerdEntry = { path: join(root, 'dist', 'index.workerd.js') };
        b.onResolve({ filter: /\/dist\/index\.js$/ }, (a) => (a.importer.startsWith(join(root, 'test')) ? workerdEntry : undefined));
        b.onResolve({ filter: /^\.\/index\.js$/ }, (a) => (a.importer === join(root, 'dist', 'internal.js') ? workerdEntry : undefined));
        // TensorFlow.js's WASM backend cannot compile in Workers: the tests' tf is the CPU backend there.
        b.onResolve({ filter: /\/build\/tf\.js$/ }, () => ({ path: join(root, 'test', '_tf-workerd.js') }));
      } }] });
  } catch (e) {
    return { out: `workerd: the tests did not bundle: ${e.message}`, result: null };
  } finally {
    rmSync(entry, { force: true });
  }
  for (const f of ['core.wasm', 'sha256.wasm']) spawnSync('cp', [join(root, 'dist', 'core', f), join(dir, f)]);
  // Fixtures, the served folder and nginx's log reach the Worker through the page server, as in Chromium.
  env = { ...env, SAFECKPT_TEST_PAGE: await startPageServer(null, env) };
  writeFileSync(join(dir, 'config.capnp'), `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "tests", worker = .tests),
    (name = "loopback", network = (allow = ["local"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:0", http = (), service = "tests")],
);
const tests :Workerd.Worker = (
  modules = [
    (name = "tests.js", esModule = embed "tests.js"),
    (name = "core.wasm", wasm = embed "core.wasm"),
    (name = "sha256.wasm", wasm = embed "sha256.wasm"),
  ],
  compatibilityDate = "2025-09-01",
  bindings = [(name = "SAFECKPT_TEST_ENV", text = ${JSON.stringify(JSON.stringify(env))})],
  globalOutbound = "loopback",
);
`);
  const child = spawn(bin, ['serve', join(dir, 'config.capnp'), '--control-fd', '3'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
  cleanups.push(() => { try { child.kill('SIGKILL'); } catch {} });
  let log = '';
  child.stdout.on('data', (d) => { log += d; });
  child.stderr.on('data', (d) => { log += d; });
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
    // node:http, not fetch: the one response comes when every test has run, and fetch gives up on headers after 300 s.
    const out = await new Promise((ok, fail) => {
      const req = httpGet(`http://127.0.0.1:${port}/`, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => { text += d; });
        res.on('end', () => ok(text));
        res.on('error', fail);
      });
      req.on('error', fail);
      req.setTimeout(PER_RUNTIME_TIMEOUT_MS, () => req.destroy(new Error(`timed out after ${PER_RUNTIME_TIMEOUT_MS} ms`)));
    });
    return { out: out + log, result: parseResult(out) };
  } catch (e) {
    return { out: `${log}\nworkerd: ${e.message}\n`, result: null };
  } finally {
    child.kill('SIGTERM');
  }
}

// ---------------------------------------------------------------- main
const served = join(work, 'served');
mkdirSync(served, { recursive: true });
spawnSync('cp', ['-r', join(root, 'test', 'fixtures'), served]);
chmodSync(work, 0o755);
spawnSync('chmod', ['-R', 'a+rX', work]);
const env = {
  SAFECKPT_TEST_HTTP: await startNginx(served),
  SAFECKPT_TEST_HTTP_NORANGE: await startNoRangeServer(served),
  SAFECKPT_TEST_HTTP_HOSTILE: await startHostileServer(),
  SAFECKPT_TEST_NGINX_LOG: join(work, 'nginx', 'logs', 'access.log'),
  // The folder both servers serve (Node/Deno tests write generated files there; workers read it as 'nobody').
  SAFECKPT_TEST_HTTP_ROOT: served,
  ...(await startS3(selectedTestFiles())),
};

const deno = join(root, 'node_modules', '.bin', 'deno');
const bun = join(root, 'node_modules', '.bin', 'bun');
const runners = {
  node: () => runProcess('node', process.execPath, ['test/_node-entry.js', ...filters], env),
  deno: () => runProcess('deno', deno, ['run', '-A', '--quiet', 'test/_node-entry.js', ...filters], { ...env, NO_COLOR: '1' }),
  bun: () => runProcess('bun', bun, ['run', 'test/_node-entry.js', ...filters], { ...env, NO_COLOR: '1' }),
  chromium: () => runChromium(env),
  workerd: () => runWorkerd(env),
};

let totalPassed = 0, totalFailed = 0, bad = false;
const lines = [];
for (const name of only) {
  const r = await runners[name]();
  if (r.skipped) {
    console.log(`${name}: 0 passed, 0 failed (${r.out})`);
    continue;
  }
  const res = r.result;
  const failedOut = r.out.split('\n').filter((l) => !l.startsWith(TAG)).join('\n');
  if (!res || res.failed > 0 || res.passed === 0 || (r.code !== undefined && r.code !== 0)) {
    bad = true;
    process.stdout.write(`\n----- ${name} output -----\n${failedOut.trim()}\n-----\n`);
  } else if (process.env.SAFECKPT_TEST_VERBOSE) {
    process.stdout.write(failedOut);
  }
  const passed = res ? res.passed : 0;
  const failed = res ? res.failed : 0;
  totalPassed += passed;
  totalFailed += failed;
  const note = !res ? ' (did not run: see output above)' : res.passed + res.failed === 0 ? ' (no tests ran)' : '';
  if (!res) totalFailed += 1;
  const leftNote = r.leftovers ? ` (${r.leftovers} temp entries left behind)` : '';
  lines.push(`${name}: ${passed} passed, ${failed} failed${note}${leftNote}`);
  console.log(lines[lines.length - 1]);
}
if (s3Failure) { bad = true; totalFailed++; console.log(s3Failure); }
console.log(`total: ${totalPassed} passed, ${totalFailed} failed`);
await rgwHandle?.stop();
cleanup();
process.exit(bad ? 1 : 0);

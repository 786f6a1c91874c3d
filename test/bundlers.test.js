// Zero-config bundling (issue #12): safeckpt installed from its packed tarball
// into a blank project, a read + verify page bundled by esbuild, vite, webpack 5
// and rollup (+ @rollup/plugin-node-resolve), each with its default options,
// and each bundle run in Chromium: it reads a tensor, verifies the file on
// workers, and refuses a copy with one changed byte. Node drives it (it packs,
// bundles and launches the browser); 30–90 s.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runtime } from './_env.js';

const B = suite('bundlers: a read + verify page from the packed package, default options');

// The page a user writes: plain code, no bundler settings. It counts the workers it starts
// (index.html wraps Worker before the bundle runs) so the test knows verification used them:
// wholeFile, because a one-pass verify of a URL has nothing for a worker to do (WebCrypto digests
// the tensors natively) while the whole-file hash streams on a worker in a browser.
const PAGE = `import { readSafetensors, verify } from 'safeckpt';
const at = (p) => new URL(p, location.href).href;
async function main() {
  const file = await readSafetensors(at('/model.safetensors'), { load: ['w'] });
  const w = Array.from(file.tensors.w.toFloat32());
  const report = await verify(at('/model.safetensors'), { workers: 2, wholeFile: true });
  let bad = null;
  try {
    await verify(at('/bad.safetensors'), { workers: 2 });
  } catch (e) {
    bad = { code: e.code, tensor: e.tensor, message: e.message };
  }
  window.__RESULT = { w, ok: report.ok, sidecar: report.sidecar, tensors: report.tensors, workers: window.__workers, bad };
}
main().catch((e) => { window.__RESULT = { error: String((e && e.stack) || e) }; });
`;
const COUNT_WORKERS = `<script>window.__workers = 0; { const W = window.Worker; window.Worker = class extends W { constructor(...a) { super(...a); window.__workers++; } }; }</script>`;
const html = (script) => `<!doctype html><meta charset="utf-8"><title>read + verify</title>${COUNT_WORKERS}${script}`;

if (runtime === 'node') {
  const helper = './_scratch-project.js'; // computed: the browser bundle of the tests must not include Node-only helpers
  const { scratchProject, run, repo } = await import(helper);
  const { writeFileSync, mkdirSync, readFileSync, statSync, existsSync, copyFileSync } = await import('node:fs');
  const { join, extname, resolve: resolvePath, sep } = await import('node:path');
  const { createServer } = await import('node:http');
  const { writeSafetensors, parseHeader } = await import('../dist/index.js');

  const project = scratchProject(['@rollup/plugin-node-resolve']);
  const dir = project.dir;
  const bin = (p) => join(repo, 'node_modules', ...p.split('/'));

  // The model and a copy with one changed byte in tensor `b` (the original sidecar beside it).
  const models = join(dir, 'models');
  const w = [1.5, -2, 3.25, 4];
  await writeSafetensors(join(models, 'model.safetensors'), {
    w: { dtype: 'F32', shape: [2, 2], data: new Float32Array(w) },
    b: { dtype: 'F32', shape: [3], data: new Float32Array([0.5, 0.25, 0.125]) },
  });
  const good = readFileSync(join(models, 'model.safetensors'));
  const bad = Uint8Array.from(good);
  const header = parseHeader(good);
  bad[header.dataStart + header.get('b').begin + 5] ^= 0x01;
  writeFileSync(join(models, 'bad.safetensors'), bad);
  copyFileSync(join(models, 'model.safetensors.meta.json'), join(models, 'bad.safetensors.meta.json'));

  mkdirSync(join(dir, 'src'));
  writeFileSync(join(dir, 'src', 'index.js'), PAGE);

  // Each bundler as its CLI runs it, options only for where the output goes.
  const node = process.execPath;
  const BUNDLERS = {
    esbuild: () => {
      run(bin('.bin/esbuild'), ['src/index.js', '--bundle', '--outfile=out-esbuild/main.js'], { cwd: dir });
      writeFileSync(join(dir, 'out-esbuild', 'index.html'), html('<script src="main.js"></script>'));
      return join(dir, 'out-esbuild');
    },
    vite: () => {
      writeFileSync(join(dir, 'index.html'), html('<script type="module" src="/src/index.js"></script>'));
      run(node, [bin('vite/bin/vite.js'), 'build', '--outDir', 'out-vite', '--logLevel', 'warn'], { cwd: dir });
      return join(dir, 'out-vite');
    },
    webpack: () => {
      run(node, [bin('webpack-cli/bin/cli.js'), '--output-path', 'out-webpack'], { cwd: dir });
      writeFileSync(join(dir, 'out-webpack', 'index.html'), html('<script src="main.js"></script>'));
      return join(dir, 'out-webpack');
    },
    rollup: () => {
      run(node, [bin('rollup/dist/bin/rollup'), 'src/index.js', '-p', '@rollup/plugin-node-resolve', '-d', 'out-rollup'], { cwd: dir });
      writeFileSync(join(dir, 'out-rollup', 'index.html'), html('<script type="module" src="index.js"></script>'));
      return join(dir, 'out-rollup');
    },
  };

  /** Serves `root` (then the models) with Range support, as any static host does. */
  function serve(root) {
    const types = { '.html': 'text/html', '.js': 'text/javascript', '.json': 'application/json' };
    const server = createServer((req, res) => {
      let path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
      if (path.endsWith('/')) path += 'index.html';
      const file = [root, models].map((r) => resolvePath(r, '.' + path)).find((f) => existsSync(f) && statSync(f).isFile());
      if (!file || ![root, models].some((r) => file.startsWith(r + sep))) {
        res.writeHead(404).end();
        return;
      }
      const bytes = readFileSync(file);
      const headers = { 'content-type': types[extname(file)] ?? 'application/octet-stream', 'accept-ranges': 'bytes' };
      const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
      if (m) {
        const start = Number(m[1]);
        const end = Math.min(m[2] === '' ? bytes.length - 1 : Number(m[2]), bytes.length - 1);
        if (start >= bytes.length) {
          res.writeHead(416, { 'content-range': `bytes */${bytes.length}` }).end();
          return;
        }
        res.writeHead(206, { ...headers, 'content-range': `bytes ${start}-${end}/${bytes.length}` });
        res.end(bytes.subarray(start, end + 1));
      } else {
        res.writeHead(200, headers).end(bytes);
      }
    });
    return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok({ url: `http://127.0.0.1:${server.address().port}/`, close: () => server.close() })));
  }

  const playwright = 'playwright-core'; // computed, like the helper above
  const { chromium } = await import(playwright);
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  let context;
  let profile;
  B.before(async () => {
    profile = mkdtempSync(join(tmpdir(), 'safeckpt-bundlers-profile-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
    });
  });
  B.after(async () => {
    await context?.close().catch(() => {});
    if (profile) rmSync(profile, { recursive: true, force: true });
    project.cleanup();
  });

  /** Every .js file under `root`. */
  const { readdirSync } = await import('node:fs');
  const jsFiles = (root) => readdirSync(root, { recursive: true }).filter((f) => f.endsWith('.js')).map((f) => join(root, f));

  for (const [name, build] of Object.entries(BUNDLERS)) {
    B(`${name}: bundles with default options, reads a tensor, verifies on workers, refuses a changed byte`, async () => {
      const out = build();
      for (const f of jsFiles(out)) {
        const m = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*)["'](node:[a-z_/]+)["']/.exec(readFileSync(f, 'utf8'));
        assert.not.ok(m, `${name} bundle ${f} imports ${m?.[1]}`);
      }
      const server = await serve(out);
      const page = await context.newPage();
      const errors = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      try {
        await page.goto(server.url);
        const r = await (await page.waitForFunction(() => window.__RESULT, null, { timeout: 60_000, polling: 100 })).jsonValue();
        assert.is(r.error, undefined, r.error);
        assert.equal(r.w, w, 'tensor w read over HTTP');
        assert.is(r.ok, true);
        assert.is(r.sidecar, 'verified');
        assert.is(r.tensors, 2);
        assert.ok(r.workers >= 1, `verification started workers (${r.workers})`);
        assert.ok(r.bad, 'the changed byte was detected');
        assert.is(r.bad.code, 'INTEGRITY', r.bad.message);
        assert.is(r.bad.tensor, 'b', r.bad.message);
        assert.equal(errors, []);
      } finally {
        await page.close();
        server.close();
      }
    });
  }
}

B.run();

// examples/worker as a user runs it: the packed package installed by its name
// into a scratch project next to the example, bundled by wrangler exactly as a
// deployment would (`wrangler deploy --dry-run`), served by `wrangler dev` on
// 127.0.0.1 (workerd), reading + verifying a signed model from nginx; a changed
// byte is INTEGRITY. Node drives it (wrangler is a Node program); the Worker
// itself runs in workerd. No network: wrangler's one telemetry lookup fails
// harmlessly (ENOTFOUND) and metrics are off.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writeSafetensors } from '../dist/index.js';
import { runtime, tempDir, testEnv, serveFile, rng, randomBytes } from './_env.js';

const W = suite('a user\'s Worker (examples/worker) under wrangler');

if (runtime === 'node') {
  const { spawn, spawnSync } = await import('node:child_process');
  const { createServer } = await import('node:net');
  const fs = await import('node:fs/promises');
  const { fileURLToPath } = await import('node:url');
  const repo = fileURLToPath(new URL('..', import.meta.url));
  const bin = (name) => `${repo}node_modules/.bin/${name}`;

  /** A scratch project: the example's files, and safeckpt from `npm pack` under node_modules/safeckpt. */
  async function scratchProject() {
    const dir = await tempDir('safeckpt-worker-');
    const pack = spawnSync('npm', ['pack', '--pack-destination', dir, '--silent'], { cwd: repo, encoding: 'utf8' });
    assert.is(pack.status, 0, pack.stderr);
    const tarball = `${dir}/${pack.stdout.trim().split('\n').pop()}`;
    const app = `${dir}/app`;
    await fs.cp(`${repo}examples/worker`, app, { recursive: true });
    await fs.mkdir(`${app}/node_modules/safeckpt`, { recursive: true });
    const tar = spawnSync('tar', ['-xzf', tarball, '-C', `${app}/node_modules/safeckpt`, '--strip-components=1']);
    assert.is(tar.status, 0, String(tar.stderr));
    // The package's own dependencies, as npm would install them (from this repo's node_modules: no network).
    const pkg = JSON.parse(await fs.readFile(`${app}/node_modules/safeckpt/package.json`, 'utf8'));
    for (const dep of Object.keys(pkg.dependencies ?? {})) await fs.symlink(`${repo}node_modules/${dep}`, `${app}/node_modules/${dep}`);
    return { dir, app };
  }

  const freePort = () => new Promise((ok) => {
    const s = createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => ok(port)); });
  });

  // TMPDIR: wrangler's update check caches its answer under the temp folder (update-check/wrangler-latest.json);
  // inside the scratch folder it goes when the test's folders do, instead of being left in the run's temp folder.
  const env = (dir) => ({ ...process.env, WRANGLER_SEND_METRICS: 'false', XDG_CONFIG_HOME: `${dir}/config`, TMPDIR: dir, NO_COLOR: '1', CI: '1' });

  W('wrangler bundles it as a deployment would: the core ships as separate WebAssembly modules, not compiled from bytes', async () => {
    const { dir, app } = await scratchProject();
    const r = spawnSync(bin('wrangler'), ['deploy', '--dry-run', '--outdir', `${dir}/out`], { cwd: app, encoding: 'utf8', env: env(dir) });
    assert.is(r.status, 0, r.stdout + r.stderr);
    const files = await fs.readdir(`${dir}/out`);
    const wasm = files.filter((f) => f.endsWith('.wasm'));
    assert.is(wasm.length, 2, files.join());
    const bundle = await fs.readFile(`${dir}/out/index.js`, 'utf8');
    for (const name of ['core.wasm', 'sha256.wasm']) {
      const want = new Uint8Array(await fs.readFile(`${repo}dist/core/${name}`));
      const found = [];
      for (const f of wasm) if (Buffer.compare(await fs.readFile(`${dir}/out/${f}`), want) === 0) found.push(f);
      assert.is(found.length, 1, `${name} is one of ${wasm.join()}`);
      assert.ok(bundle.includes(found[0]), `the bundle imports ${found[0]}`);
    }
  });

  W('wrangler dev: reads a tensor and verifies a signed model over HTTP; a changed byte is INTEGRITY', async () => {
    const { dir, app } = await scratchProject();
    const next = rng(12);
    const rel = `worker-example-${Date.now()}/model.safetensors`;
    const data = new Float32Array(4096).map((_, i) => i / 8);
    const out = await tempDir();
    await writeSafetensors(`${out}/model.safetensors`, {
      w: { dtype: 'F32', shape: [64, 64], data },
      b: { dtype: 'U8', shape: [256], data: randomBytes(256, next) },
    }, { key: 'worker-secret', keyId: 'prod' });
    const file = new Uint8Array(await fs.readFile(`${out}/model.safetensors`));
    await serveFile(rel, file);
    await serveFile(`${rel}.meta.json`, new Uint8Array(await fs.readFile(`${out}/model.safetensors.meta.json`)));
    const url = `${testEnv('SAFECKPT_TEST_HTTP')}/${rel}`;

    const [port, inspector] = [await freePort(), await freePort()];
    const child = spawn(bin('wrangler'), ['dev', '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspector),
      '--var', 'MODEL_KEY:worker-secret', '--show-interactive-dev-session=false'], { cwd: app, env: env(dir), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    try {
      await new Promise((ok, fail) => {
        const timer = setTimeout(() => fail(new Error(`wrangler dev did not get ready in 120 s:\n${log}`)), 120_000);
        const on = (d) => { log += d; if (/Ready on http/.test(log)) { clearTimeout(timer); ok(); } };
        child.stdout.on('data', on);
        child.stderr.on('data', on);
        child.on('exit', (code) => { clearTimeout(timer); fail(new Error(`wrangler dev exited (${code}):\n${log}`)); });
      });
      const check = async () => {
        const res = await fetch(`http://127.0.0.1:${port}/check?url=${encodeURIComponent(url)}&tensor=w`);
        return { status: res.status, body: await res.json() };
      };
      let r = await check();
      assert.is(r.status, 200, JSON.stringify(r.body) + log);
      assert.equal(r.body.tensor, { name: 'w', dtype: 'F32', shape: [64, 64], first: [0, 0.125, 0.25, 0.375] });
      assert.equal([r.body.tensors, r.body.verified.sidecar, r.body.verified.hmac], [2, 'verified', 'verified']);

      // One byte of tensor b changed on the server: the Worker refuses the file.
      const bad = file.slice();
      bad[bad.length - 7] ^= 0x01;
      await serveFile(rel, bad);
      r = await check();
      assert.is(r.status, 422, JSON.stringify(r.body));
      assert.is(r.body.code, 'INTEGRITY');
      assert.match(r.body.message, /model\.safetensors/);
    } finally {
      try { process.kill(-child.pid, 'SIGTERM'); } catch {}
    }
  });
}

W.run();

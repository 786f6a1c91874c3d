// How the WASM core reaches each runtime: compiled from the bytes embedded in
// the build where compiling at run time is allowed (Node, Deno, Bun, browsers),
// imported as a module where it is not (Cloudflare Workers: workerd refuses
// `new WebAssembly.Module(bytes)`), and a typed error where there is no
// WebAssembly at all.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseHeader, sha256, toHex, hashEngineInfo, ready, verify, writeSafetensors, MemoryStore, CheckpointError } from '../dist/index.js';
import { coreDelivery, loadCoreModule, embeddedCoreModule, provideCoreModule } from '../dist/core/wasm.js';
import { sha256Wasm } from '../dist/internal.js';
import { runtime, hasFs } from './_env.js';

const L = suite(`core loading (${runtime})`);
const header = (json) => {
  const body = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + body.length + 8);
  new DataView(out.buffer).setBigUint64(0, BigInt(body.length), true);
  out.set(body, 8);
  return out;
};

L(`the core is ${runtime === 'workerd' ? 'imported as a module (dist/core/core.wasm, by the workerd entry)' : 'compiled from the embedded bytes'} and runs`, () => {
  assert.is(coreDelivery(), runtime === 'workerd' ? 'module' : 'embedded');
  const h = parseHeader(header('{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'));
  assert.equal(h.get('w').shape, [2]);
  assert.is(toHex(sha256(new TextEncoder().encode('abc'))), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});

if (runtime === 'workerd') {
  L('workerd refuses to compile the embedded bytes: an UNSUPPORTED error that says to use the workerd condition', () => {
    try {
      loadCoreModule(embeddedCoreModule);
      assert.unreachable('workerd compiled WebAssembly from bytes');
    } catch (e) {
      assert.instance(e, CheckpointError);
      assert.equal([e.code, e.detail], ['UNSUPPORTED', 'WASM_CODEGEN']);
      assert.match(e.message, /workerd condition/);
      assert.match(e.message, /core\.wasm/);
    }
  });

  L('provideCoreModule takes only a compiled WebAssembly.Module', () => {
    for (const bad of [new Uint8Array([0, 97, 115, 109]), 'core.wasm', undefined]) {
      try { provideCoreModule(bad); assert.unreachable(String(bad)); } catch (e) {
        assert.instance(e, CheckpointError);
        assert.is(e.code, 'UNSUPPORTED');
      }
    }
    assert.is(coreDelivery(), 'module');
  });

  L('hashes run on the core, not a fallback (hash-wasm cannot compile here), and nothing starts a worker', async () => {
    const info = await ready();
    assert.is(info.engine, 'core');
    assert.is(hashEngineInfo().engine, 'core');
    assert.is(typeof Worker, 'undefined');
    const store = new MemoryStore();
    await writeSafetensors({ store, key: 'm.safetensors' }, { w: { dtype: 'F32', shape: [4], data: new Float32Array([1, 2, 3, 4]) } });
    // Workers asked for where none exist: the same report, hashed on this thread.
    const report = await verify({ store, key: 'm.safetensors' }, { workers: 2 });
    assert.is(report.ok, true);
  });
}

if (runtime === 'workerd') {
  L('the SHA-256 module is provided by the workerd entry too (dist/core/sha256.wasm): it runs from the first call', () => {
    assert.ok(sha256Wasm());
    assert.is(toHex(sha256('abc')), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
}

if (runtime === 'node') {
  L('the SHA-256 module loads with ready(): before, the sync forms hash in JS with the same digests, and a hasher moves to the module between updates', async () => {
    const { spawnSync } = await import('node:child_process');
    const internal = new URL('../dist/internal.js', import.meta.url).href;
    const script = `const m = await import(${JSON.stringify(internal)});
const out = { before: m.sha256Wasm() !== undefined, abc: m.toHex(m.sha256('abc')) };
const h = m.coreEngine.createSha256().update(new Uint8Array(100).fill(7));
await m.ready();
out.after = m.sha256Wasm() !== undefined;
out.moved = m.toHex(h.update(new Uint8Array(100).fill(7)).digest());
console.log(JSON.stringify(out));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    const out = JSON.parse(r.stdout.trim().split('\n').pop());
    const { createHash } = await import('node:crypto');
    assert.equal(out, {
      before: false, abc: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad', after: true,
      moved: createHash('sha256').update(new Uint8Array(200).fill(7)).digest('hex'),
    }, r.stderr);
  });

  L('dist/ loaded unbundled in Chromium: the core runs at once, and ready() fetches the SHA-256 module from dist/core', async () => {
    const { createServer } = await import('node:http');
    const { readFileSync, existsSync, mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { fileURLToPath } = await import('node:url');
    const playwright = 'playwright-core'; // computed: not part of the browser bundle of the tests
    const { chromium } = await import(playwright);
    const dist = fileURLToPath(new URL('../dist/', import.meta.url));
    const fetched = [];
    const server = createServer((req, res) => {
      const path = new URL(req.url, 'http://x').pathname;
      fetched.push(path);
      const file = dist + path.replace(/^\/dist\//, '');
      if (path === '/') return void res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>dist</title>');
      if (!path.startsWith('/dist/') || path.includes('..') || !existsSync(file)) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(readFileSync(file));
    });
    await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
    const profile = mkdtempSync(tmpdir() + '/safeckpt-unbundled-');
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu'],
    });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      await page.goto(`http://127.0.0.1:${server.address().port}/`);
      // The page imports dist/ by path (passed in: a literal would be resolved when the tests are bundled).
      const out = await page.evaluate(async (entry) => {
        const m = await import(entry);
        const r = { before: m.sha256Wasm() !== undefined, abc: m.toHex(m.sha256('abc')) };
        const body = new TextEncoder().encode('{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}');
        const f = new Uint8Array(8 + body.length + 8);
        new DataView(f.buffer).setBigUint64(0, BigInt(body.length), true);
        f.set(body, 8);
        r.shape = m.parseHeader(f).get('w').shape;
        r.engine = (await m.ready()).engine;
        r.after = m.sha256Wasm() !== undefined;
        r.mib = m.toHex(m.sha256(new Uint8Array(1 << 20)));
        return r;
      }, '/dist/internal.js');
      assert.equal(out, {
        before: false, abc: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad', shape: [2], engine: 'core', after: true,
        mib: '30e14955ebf1352266dc2ff8067e68104607e750abb9d3b36582b8af909fcb58',
      });
      assert.ok(fetched.includes('/dist/core/sha256-wasm-bytes.js'), fetched.join(' '));
    } finally {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
      server.close();
    }
  });

  L('without WebAssembly (node --jitless) every core call is an UNSUPPORTED CheckpointError that says so', async () => {
    const { spawnSync } = await import('node:child_process');
    const index = new URL('../dist/index.js', import.meta.url).href;
    const script = `const m = await import(${JSON.stringify(index)});
try { m.parseHeader(new Uint8Array([2,0,0,0,0,0,0,0,123,125])); console.log('parsed'); }
catch (e) { console.log(JSON.stringify({ error: e instanceof m.CheckpointError, code: e.code, detail: e.detail, message: e.message })); }`;
    const r = spawnSync(process.execPath, ['--jitless', '--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.is(typeof WebAssembly, 'object', 'this process has WebAssembly (only the child runs without)');
    const out = JSON.parse(r.stdout.trim().split('\n').pop());
    assert.equal([out.error, out.code, out.detail], [true, 'UNSUPPORTED', 'NO_WASM'], r.stdout + r.stderr);
    assert.match(out.message, /no WebAssembly/);
  });
}

if (hasFs || runtime === 'chromium') {
  L('loadCoreModule turns a compile failure into an UNSUPPORTED CheckpointError (never a bare WebAssembly error)', () => {
    try {
      loadCoreModule(() => new WebAssembly.Module(new Uint8Array([0, 97, 115, 109, 9, 9, 9, 9])));
      assert.unreachable();
    } catch (e) {
      assert.instance(e, CheckpointError);
      assert.equal([e.code, e.detail], ['UNSUPPORTED', 'NO_WASM']);
    }
  });
}

L.run();

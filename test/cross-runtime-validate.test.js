// examples/cross-runtime-validate/validate.js, spawned as people and CI run it:
// with `node` from the Node run and `deno run` from the Deno run — the same
// script, the same verdicts, the same JSON.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writeSafetensors, saveCheckpoint } from '../dist/index.js';
import { tinyLMParameterShapes } from '../dist/demo/index.js';
import { isBrowser, runtime, tempDir, readRepoFile, testEnv, serveFile } from './_env.js';

const V = suite('cross-runtime validation script');
if (!isBrowser) {
  const { spawnSync } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const fs = await import('node:fs/promises');
  const script = fileURLToPath(new URL('../examples/cross-runtime-validate/validate.js', import.meta.url));
  const exec = runtime === 'deno' ? Deno.execPath() : process.execPath;
  const pre = runtime === 'deno' ? ['run', '--allow-read', '--allow-env', '--allow-net', script] : [script];
  const run = (args, env = {}) => {
    const r = spawnSync(exec, [...pre, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', ...env } });
    const last = r.stdout.trim().split('\n').pop();
    let json = null;
    try { json = JSON.parse(last); } catch {}
    return { status: r.status, out: r.stdout, err: r.stderr, json, checks: json && Object.fromEntries(json.checks.map((c) => [c.check, c])) };
  };

  const dir = await tempDir();
  const model = {
    'embed.weight': { dtype: 'F32', shape: [8, 4], data: new Float32Array(32).map((_, i) => i / 7) },
    'head.weight': { dtype: 'BF16', shape: [2, 4], data: new Uint16Array(8).fill(0x3f80) },
    'head.bias': { dtype: 'F32', shape: [2], data: Float32Array.of(0.5, -0.5) },
  };
  const file = `${dir}/model.safetensors`;
  await writeSafetensors(file, model, { key: 'ci-secret', keyId: 'ci', metadata: { model_name: 'tiny' } });
  const table = `${dir}/expected.json`;
  await fs.writeFile(table, JSON.stringify({ 'embed.weight': { dtype: 'F32', shape: [8, 4] }, 'head.weight': { shape: [2, 4] }, 'head.bias': { dtype: 'F32', shape: [2] } }));
  const KEY = { CI_KEY: 'ci-secret' };

  V(`${runtime}: a signed file that fits its table is VALID (exit 0), every check named in the report`, () => {
    const r = run([file, '--expect', table, '--key-env', 'CI_KEY'], KEY);
    assert.is(r.status, 0, r.out + r.err);
    assert.is(r.out, `${file} (safetensors) — checked with ${runtime} ${runtime === 'deno' ? Deno.version.deno : process.versions.node}
  header     ok    3 tensors (F32 × 2, BF16 × 1), metadata: model_name
  integrity  ok    every byte matches the sidecar (${r.out.match(/sidecar \((\d+) bytes\)/)[1]} bytes)
  hmac       ok    verified (key_id ci)
  shapes     ok    all 3 expected tensors fit
VALID
`);
    const j = run([file, '--expect', table, '--key-env', 'CI_KEY', '--json'], KEY);
    assert.equal([j.json.ok, j.json.format, j.checks.integrity.status, j.checks.hmac.status], [true, 'safetensors', 'verified', 'verified']);
  });

  V(`${runtime}: a changed byte is INTEGRITY naming the tensor, a wrong key AUTH, a misfit SHAPE_MISMATCH listing all — in one report`, async () => {
    const bad = `${dir}/bad.safetensors`;
    const bytes = await fs.readFile(file);
    bytes[bytes.length - 1] ^= 1; // the last tensor in file order: head.weight (BF16 sorts after F32)
    await fs.writeFile(bad, bytes);
    await fs.copyFile(`${file}.meta.json`, `${bad}.meta.json`);
    let r = run([bad, '--expect', table, '--json']);
    assert.is(r.status, 1);
    assert.equal([r.checks.header.ok, r.checks.integrity.code, r.checks.integrity.tensor, r.checks.shapes.ok], [true, 'INTEGRITY', 'head.weight', true]);
    r = run([file, '--key-env', 'CI_KEY', '--json'], { CI_KEY: 'wrong' });
    assert.equal([r.status, r.checks.hmac.code], [1, 'AUTH']);
    const misfit = `${dir}/misfit.json`;
    await fs.writeFile(misfit, JSON.stringify({ 'embed.weight': { shape: [16, 4] }, 'head.weight': { dtype: 'F32', shape: [2, 4] }, 'lm_head.weight': { shape: [4] } }));
    r = run([file, '--expect', misfit, '--json']);
    assert.equal([r.status, r.checks.shapes.code], [1, 'SHAPE_MISMATCH']);
    assert.equal(r.checks.shapes.data.missing, ['lm_head.weight']);
    assert.equal(r.checks.shapes.data.unexpected, ['head.bias']);
    assert.equal(r.checks.shapes.data.shape, [{ name: 'embed.weight', expected: [16, 4], found: [8, 4] }]);
    assert.ok(r.checks.shapes.message.includes('size mismatch for embed.weight: expected [16, 4], found [8, 4]'), r.checks.shapes.message);
    r = run([file, '--expect', misfit, '--allow-missing', '--allow-unexpected', '--json']);
    assert.equal(r.checks.shapes.data.dtype, [{ name: 'head.weight', expected: 'F32', found: 'BF16' }], 'dtype differences are never allowed');
  });

  V(`${runtime}: a legacy PyTorch .pt fits the reference safetensors file made from the same state dict; its CRCs are checked`, async () => {
    const pt = `${dir}/sd.pt`;
    await fs.writeFile(pt, await readRepoFile('test/fixtures/reference/torch/state_dict_f32.pt'));
    const ref = fileURLToPath(new URL('fixtures/reference/safetensors/valid/state_dict_f32.safetensors', import.meta.url));
    let r = run([pt, '--expect', ref, '--json']);
    assert.equal([r.status, r.json.format, r.checks.header.tensors, r.checks.integrity.ok, r.checks.shapes.ok], [0, 'torch', 7, true, true], r.out);
    r = run([pt, '--key-env', 'CI_KEY', '--json'], KEY);
    assert.equal([r.status, r.checks.hmac.code], [1, 'AUTH']);
    const evil = `${dir}/evil.pt`;
    await fs.writeFile(evil, await readRepoFile('test/fixtures/reference/torch/malicious_reduce.pt'));
    r = run([evil, '--json']);
    assert.equal([r.status, r.checks.header.code], [1, 'UNSAFE_PICKLE']);
  });

  V(`${runtime}: a remote file over HTTP, a missing sidecar under --strict, and usage errors`, async () => {
    const rel = `validate-${runtime}-${Date.now()}`;
    await serveFile(`${rel}/model.safetensors`, await fs.readFile(file));
    await serveFile(`${rel}/model.safetensors.meta.json`, await fs.readFile(`${file}.meta.json`));
    const url = `${testEnv('SAFECKPT_TEST_HTTP')}/${rel}/model.safetensors`;
    let r = run([url, '--expect', table, '--key-env', 'CI_KEY', '--json'], KEY);
    assert.equal([r.status, r.checks.integrity.status, r.checks.hmac.status, r.checks.shapes.ok], [0, 'verified', 'verified', true], r.out + r.err);
    const bare = `${dir}/bare.safetensors`;
    await fs.copyFile(file, bare);
    r = run([bare, '--json']);
    assert.equal([r.status, r.checks.integrity.status], [0, 'missing']);
    r = run([bare, '--strict', '--json']);
    assert.equal([r.status, r.checks.integrity.code], [1, 'INTEGRITY']);
    assert.is(run([]).status, 2);
    assert.is(run([file, '--bogus']).status, 2);
    assert.is(run([file, '--key-env', 'SAFECKPT_UNSET_VAR']).status, 2);
    r = run([`${dir}/absent.safetensors`, '--json']);
    assert.equal([r.status, r.checks.header.code], [1, 'NOT_FOUND']);
  });

  V(`${runtime}: a signed training checkpoint (by its root's LATEST) — files against the manifest, its HMAC, the model's shapes`, async () => {
    const { freshRun, ready, TEST_CONFIG } = await import('./_tiny.js');
    await ready;
    const ckpt = await tempDir('safeckpt-validate-ckpt-');
    const t = freshRun('adam');
    try {
      t.loop.run(1);
      await saveCheckpoint(ckpt, { model: t.model, optimizer: t.opt, step: 1 }, { key: 'ci-secret', keyId: 'ci' });
    } finally {
      t.dispose();
    }
    const shapes = `${dir}/tinylm.json`;
    await fs.writeFile(shapes, JSON.stringify(Object.fromEntries(tinyLMParameterShapes(TEST_CONFIG).map(([n, s]) => [n, { dtype: 'F32', shape: s }]))));
    let r = run([ckpt, '--expect', shapes, '--key-env', 'CI_KEY', '--json'], KEY);
    assert.is(r.status, 0, r.out + r.err);
    assert.equal([r.json.format, r.checks.integrity.status, r.checks.hmac.status, r.checks.shapes.ok], ['checkpoint', 'verified', 'verified', true]);
    assert.ok(r.json.source.endsWith('step-00000001') && r.checks.header.message.startsWith('step 1, model: '), r.out);
    assert.is(run([ckpt, '--json']).checks.hmac.status, 'not-checked');
    assert.is(run([ckpt, '--key-env', 'CI_KEY', '--json'], { CI_KEY: 'wrong' }).checks.hmac.code, 'AUTH');
    const weights = `${ckpt}/step-00000001/model.safetensors`;
    const b = await fs.readFile(weights);
    b[b.length - 3] ^= 0x10;
    await fs.writeFile(weights, b);
    r = run([ckpt, '--json']);
    assert.equal([r.status, r.checks.integrity.code], [1, 'INTEGRITY']);
    assert.ok(r.checks.integrity.message.includes('model.safetensors'), r.checks.integrity.message);
  });

  if (runtime === 'node') {
    V('node and deno give the same report for the same inputs', () => {
      const deno = fileURLToPath(new URL('../node_modules/.bin/deno', import.meta.url));
      const args = [file, '--expect', table, '--key-env', 'CI_KEY', '--json'];
      const a = run(args, KEY).json;
      const b = JSON.parse(spawnSync(deno, ['run', '--allow-read', '--allow-env', '--allow-net', script, ...args], { encoding: 'utf8', env: { ...process.env, ...KEY } }).stdout.trim().split('\n').pop());
      assert.ok(a.runtime.startsWith('node ') && b.runtime.startsWith('deno '));
      assert.equal({ ...a, runtime: '' }, { ...b, runtime: '' });
    });
  }
}
V.run();

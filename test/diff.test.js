// diffTensors and `safeckpt diff`: added, removed and changed tensors between
// any two weights sources, with the largest value difference for floats.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { diffTensors, openTensors, writeSafetensors, MemoryStore } from '../dist/index.js';
import { saveCheckpoint } from '../dist/index.js';
import { readRepoFile, runtime, tempDir } from './_env.js';
import { freshRoot } from './_ckpt-env.js';
import { freshRun, ready } from './_tiny.js';

const f32 = (...v) => ({ dtype: 'F32', shape: [v.length], data: new Float32Array(v) });
const bf16 = (...v) => ({ dtype: 'BF16', shape: [v.length], data: new Uint16Array(v.map((x) => new Uint32Array(new Float32Array([x]).buffer)[0] >>> 16)) });

// Two versions of a small model: one weight nudged, one cast to BF16, one reshaped, one dropped, one new.
const A = {
  'w': { dtype: 'F32', shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) },
  'cast': f32(1.5, -2, 0.1),
  'grid': { dtype: 'U8', shape: [4], data: Uint8Array.of(1, 2, 3, 4) },
  'same': f32(7, 8),
  'gone': { dtype: 'I64', shape: [1], data: new BigInt64Array([5n]) },
};
const B = {
  'w': { dtype: 'F32', shape: [2, 2], data: new Float32Array([1, 2.5, 3, 3.75]) },
  'cast': bf16(1.5, -2, 0.1),
  'grid': { dtype: 'U8', shape: [2, 2], data: Uint8Array.of(1, 2, 3, 4) },
  'same': f32(7, 8),
  'new': { dtype: 'I32', shape: [1], data: Int32Array.of(9) },
};
// 0.1 in BF16 is 0.099609375; in F32 0.100000001490116…: the cast's largest error.
const CAST_ERR = Math.fround(0.1) - 0.099609375;

const L = suite('diffTensors');

L('added, removed and changed (dtype, shape, bytes) with max |a-b| of float tensors', async () => {
  const d = await diffTensors(A, B);
  assert.equal(d, {
    identical: false,
    a: { path: 'a', format: 'tensors', tensors: 5 },
    b: { path: 'b', format: 'tensors', tensors: 5 },
    added: [{ name: 'new', dtype: 'I32', shape: [1] }],
    removed: [{ name: 'gone', dtype: 'I64', shape: [1] }],
    changed: [
      { name: 'w', a: { dtype: 'F32', shape: [2, 2] }, b: { dtype: 'F32', shape: [2, 2] }, changes: ['bytes'], maxAbsDiff: 0.5, nonFiniteMismatches: 0 },
      { name: 'cast', a: { dtype: 'F32', shape: [3] }, b: { dtype: 'BF16', shape: [3] }, changes: ['dtype'], maxAbsDiff: CAST_ERR, nonFiniteMismatches: 0 },
      { name: 'grid', a: { dtype: 'U8', shape: [4] }, b: { dtype: 'U8', shape: [2, 2] }, changes: ['shape'] },
    ],
    unchanged: 1,
  });
  const same = await diffTensors(A, A);
  assert.equal([same.identical, same.unchanged, same.changed, same.added, same.removed], [true, 5, [], [], []]);
});

L('NaN equals NaN; NaN or inf against a number is counted, not folded into the max', async () => {
  const d = await diffTensors({ x: f32(NaN, Infinity, 1, 2) }, { x: f32(NaN, 3, 1, 2.25) });
  assert.equal(d.changed[0].changes, ['bytes']);
  assert.is(d.changed[0].maxAbsDiff, 0.25);
  assert.is(d.changed[0].nonFiniteMismatches, 1);
});

L('a PyTorch .pt and the reference safetensors file of the same state dict are identical', async () => {
  const pt = await readRepoFile('test/fixtures/reference/torch/state_dict_f32.pt');
  const st = await readRepoFile('test/fixtures/reference/safetensors/valid/state_dict_f32.safetensors');
  const d = await diffTensors(pt, st);
  assert.equal([d.identical, d.unchanged, d.a.format, d.b.format], [true, 7, 'torch', 'safetensors']);
  // …and one changed value in the safetensors copy shows up by name, with its size.
  const t = (await openTensors(st)).info('fc2.bias');
  assert.equal([t.dtype, t.shape, t.byteLength], ['F32', [4], 16]);
  const changed = st.slice();
  const view = new DataView(changed.buffer);
  const at = 8 + Number(view.getBigUint64(0, true)) + 896; // fc2.bias: data_offsets [896, 912]
  view.setFloat32(at, view.getFloat32(at, true) + 0.5, true);
  const e = await diffTensors(pt, changed);
  assert.equal(e.changed.map((c) => [c.name, c.changes, Math.abs(c.maxAbsDiff - 0.5) < 1e-6]), [['fc2.bias', ['bytes'], true]]);
});

L('a sharded copy reads as the same model; a tensor tampered behind its sidecar is INTEGRITY', async () => {
  const store = new MemoryStore();
  await writeSafetensors({ store, key: 'one/model.safetensors' }, A);
  await writeSafetensors({ store, key: 'many/model.safetensors' }, A, { maxShardSize: 20 });
  const d = await diffTensors({ store, key: 'one' }, { store, key: 'many' });
  assert.equal([d.identical, d.a.format, d.b.format, d.b.tensors], [true, 'safetensors', 'sharded', 5]);
  const bytes = await store.read('one/model.safetensors');
  bytes[bytes.length - 1] ^= 1; // inside the last tensor in file order
  await store.write('one/model.safetensors', bytes);
  try {
    await diffTensors({ store, key: 'one' }, { store, key: 'many' });
    assert.unreachable();
  } catch (e) {
    assert.is(e.code, 'INTEGRITY');
    assert.ok(e.tensor in A, String(e.tensor));
  }
});

L('two training checkpoints: their model weights, every one moved by training, none added or removed', async () => {
  await ready;
  const root = await freshRoot('diff');
  const r = freshRun('adam');
  try {
    r.loop.run(1);
    const first = await saveCheckpoint(root, { model: r.model, optimizer: r.opt, step: 1 });
    r.loop.run(1);
    await saveCheckpoint(root, { model: r.model, optimizer: r.opt, step: 2 });
    const d = await diffTensors(`${root}/${first.name}`, root); // a checkpoint folder, and the root whose LATEST names step 2
    assert.equal([d.a.format, d.b.format, d.added, d.removed, d.unchanged], ['checkpoint', 'checkpoint', [], [], 0]);
    assert.equal(d.changed.map((c) => c.name).sort(), Object.keys(r.model.variables).map((n) => n.replace(/^tinylm\//, '')).sort());
    assert.ok(d.changed.every((c) => c.changes.join() === 'bytes' && c.maxAbsDiff > 0 && c.maxAbsDiff < 0.1), JSON.stringify(d.changed[0]));
    assert.is((await diffTensors(root, root)).identical, true);
  } finally {
    r.dispose();
  }
});

const C = suite('safeckpt diff (CLI)');
if (runtime === 'node' || runtime === 'bun') {
  const { spawnSync } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const fs = await import('node:fs/promises');
  const cli = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
  const run = (...args) => spawnSync(process.execPath, [cli, 'diff', ...args], { encoding: 'utf8' });
  const dir = await tempDir();
  await writeSafetensors(`${dir}/a.safetensors`, A);
  await writeSafetensors(`${dir}/b.safetensors`, B);
  await fs.writeFile(`${dir}/sd.pt`, await readRepoFile('test/fixtures/reference/torch/state_dict_f32.pt'));

  C('prints removed, added and changed tensors and a summary; exit 1 when they differ', () => {
    const r = run(`${dir}/a.safetensors`, `${dir}/b.safetensors`);
    assert.is(r.stdout, `--- ${dir}/a.safetensors (safetensors, 5 tensors)
+++ ${dir}/b.safetensors (safetensors, 5 tensors)
- gone  I64 [1]
+ new  I32 [1]
~ cast  dtype F32 → BF16, max |a-b| ${Number(CAST_ERR.toPrecision(6))}
~ w  bytes differ (F32 [2, 2]), max |a-b| 0.5
~ grid  shape [4] → [2, 2]
1 added, 1 removed, 3 changed, 1 unchanged
`, r.stderr);
    assert.is(r.status, 1);
  });
  C('--json: the whole diff as the last line; exit 0 for identical weights in two formats', () => {
    let r = run(`${dir}/a.safetensors`, `${dir}/b.safetensors`, '--json');
    const j = JSON.parse(r.stdout.trim().split('\n').pop());
    assert.equal([j.ok, j.identical, j.added.map((t) => t.name), j.removed.map((t) => t.name), j.changed.map((c) => c.name)], [true, false, ['new'], ['gone'], ['cast', 'w', 'grid']]);
    r = run(`${dir}/sd.pt`, 'test/fixtures/reference/safetensors/valid/state_dict_f32.safetensors');
    assert.is(r.status, 0, r.stderr);
    assert.ok(r.stdout.endsWith('identical: 7 tensors, same names, dtypes, shapes and bytes\n'), r.stdout);
    assert.ok(r.stdout.startsWith(`--- ${dir}/sd.pt (torch, 7 tensors)\n`), r.stdout);
  });
  C('a missing file is exit 3 (not 1, which means "different") with NOT_FOUND naming it; wrong arguments are exit 2', () => {
    let r = run(`${dir}/a.safetensors`, `${dir}/absent.safetensors`, '--json');
    const j = JSON.parse(r.stdout.trim().split('\n').pop());
    assert.equal([r.status, j.ok, j.code], [3, false, 'NOT_FOUND']);
    assert.ok(j.message.includes('absent.safetensors'));
    assert.is(run(`${dir}/a.safetensors`).status, 2);
    assert.is(run(`${dir}/a.safetensors`, `${dir}/b.safetensors`, '--bogus').status, 2);
  });
}

L.run();
C.run();

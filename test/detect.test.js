// What a source is has one answer (src/sources/detect.ts) — content first, name second — and read,
// verify, inspect and diff all take it. Each case here was answered differently by different commands
// before: a safetensors file named x.bin was safetensors to `inspect` and torch to `diff`.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readSafetensors, verify, openTensors, diffTensors, writeSafetensors, readTorch, MemoryStore } from '../dist/index.js';
import { readRepoFile, runtime, tempDir } from './_env.js';

const TENSORS = { w: { dtype: 'F32', shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) } };

async function failure(p) {
  try { await p; } catch (e) { return e; }
  return null;
}

/** A store holding the same safetensors bytes under several names, a torch file under a safetensors name, … */
async function sources() {
  const store = new MemoryStore();
  await writeSafetensors({ store, key: 'ref.safetensors' }, TENSORS);
  const st = await store.read('ref.safetensors');
  await store.write('x.bin', st);
  await store.write('weights', st);
  const pt = await readRepoFile('test/fixtures/reference/torch/dtypes.pt');
  await store.write('y.safetensors', pt);
  await store.write('legacy.safetensors', await readRepoFile('test/fixtures/reference/torch/legacy_nonzip.pt'));
  // A safetensors header of 640 bytes: its length prefix begins 0x80 0x02, as a pickle (protocol 2) does.
  for (let pad = 0; ; pad++) {
    const w = await writeSafetensors({ store, key: 'p640.bin' }, TENSORS, { metadata: { pad: 'x'.repeat(pad) } });
    const n = new DataView((await store.read('p640.bin')).buffer).getUint32(0, true);
    if (n === 640) break;
    assert.ok(n < 640 && w, 'no padding gives a 640-byte header');
  }
  return store;
}

const D = suite('one detector: content first, name second');
D('a safetensors file named x.bin (or with no extension) is safetensors to read, verify, openTensors and diff', async () => {
  const store = await sources();
  for (const key of ['x.bin', 'weights', 'p640.bin']) {
    const f = await readSafetensors({ store, key });
    assert.equal([...(await f.tensor('w')).toFloat32()], [1, 2, 3, 4], key);
    assert.is((await verify({ store, key })).kind, 'safetensors', key);
    assert.is((await openTensors({ store, key })).format, 'safetensors', key);
    const d = await diffTensors({ store, key }, { store, key: 'ref.safetensors' });
    assert.equal([d.a.format, d.identical], ['safetensors', true], key);
  }
});
D('a torch file named y.safetensors is torch to openTensors and diff, and read/verify refuse it as UNSUPPORTED, not CORRUPT', async () => {
  const store = await sources();
  for (const key of ['y.safetensors', 'legacy.safetensors']) {
    assert.is((await openTensors({ store, key })).format, 'torch', key);
    assert.ok(await readTorch({ store, key }), key);
    for (const op of [readSafetensors, verify]) {
      const e = await failure(op({ store, key }));
      assert.equal([e?.code, e?.detail], ['UNSUPPORTED', 'NOT_SAFETENSORS'], `${op.name} ${key}: ${e?.message}`);
      assert.ok(e.message.includes(key));
    }
  }
});
D('an absent source is NOT_FOUND naming it, whatever its name', async () => {
  const store = await sources();
  for (const key of ['gone.safetensors', 'gone.bin', 'gone', 'gone/model.safetensors.index.json']) {
    for (const op of [readSafetensors, verify, openTensors]) {
      const e = await failure(op({ store, key }));
      assert.is(e?.code, 'NOT_FOUND', `${op.name} ${key}: ${e?.message}`);
    }
  }
});
D('garbage is CORRUPT from the safetensors reader, which says what is wrong (any file may be a broken safetensors one)', async () => {
  const store = await sources();
  await store.write('junk.dat', new TextEncoder().encode('\x01\x02\x03\x04\x05\x06\x07\x08 not a model'));
  for (const op of [readSafetensors, verify, openTensors]) assert.is((await failure(op({ store, key: 'junk.dat' })))?.code, 'CORRUPT', op.name);
});
if (runtime === 'node') {
  D('safeckpt inspect and diff agree with the library on every one of these files', async () => {
    const { spawnSync } = await import('node:child_process');
    const { fileURLToPath } = await import('node:url');
    const fs = await import('node:fs/promises');
    const cli = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
    const run = (...args) => JSON.parse(spawnSync(process.execPath, [cli, ...args, '--json'], { encoding: 'utf8' }).stdout.trimEnd().split('\n').pop());
    const store = await sources();
    const dir = await tempDir();
    for (const e of await store.list('')) await fs.writeFile(`${dir}/${e.key}`, await store.read(e.key));
    for (const [file, format] of [['x.bin', 'safetensors'], ['weights', 'safetensors'], ['p640.bin', 'safetensors'], ['y.safetensors', 'pytorch'], ['legacy.safetensors', 'pytorch']]) {
      assert.is(run('inspect', `${dir}/${file}`).format, format, `inspect ${file}`);
      assert.is(run('diff', `${dir}/${file}`, `${dir}/${file}`).a.format, format === 'pytorch' ? 'torch' : 'safetensors', `diff ${file}`);
    }
  });
}

D.run();

// A signed sharded model is bound on read exactly as on verify (#11): with a key the index sidecar must
// exist and verify (AUTH), and every shard must be the one it records (INTEGRITY naming the shard) before
// any tensor is returned — whichever way the model is opened (readSafetensors, openTensors, so diff, and
// inspect) and wherever it is (memory, a folder on disk, over HTTP from nginx).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readSafetensors, verify, openTensors, writeSafetensors, MemoryStore } from '../dist/index.js';
import { isBrowser, tempDir, rng, randomBytes, serveFile, testEnv } from './_env.js';

const KEY = 'shared-signing-key';
const INDEX = 'model.safetensors.index.json';
const SHARD2 = 'model-00002-of-00003.safetensors';
const enc = new TextEncoder(), dec = new TextDecoder();

/** Two models with the same tensor names and layout, different values, signed with the same key. */
async function twoSignedModels() {
  const make = async (seed) => {
    const next = rng(seed), t = {};
    for (let i = 0; i < 5; i++) t[`w${i}`] = { dtype: 'U8', shape: [100], data: randomBytes(100, next) };
    const store = new MemoryStore();
    await writeSafetensors({ store, key: 'model.safetensors' }, t, { maxShardSize: 200, key: KEY, keyId: 'k' });
    return store;
  };
  return [await make(1), await make(2)];
}

/** The attacks of #11, each a change to a signed model `a` (b: another model signed with the same key). */
const ATTACKS = {
  'a shard (and its signed sidecar) copied from another model signed with the same key': async (a, b) => {
    await a.write(SHARD2, await b.read(SHARD2));
    await a.write(SHARD2 + '.meta.json', await b.read(SHARD2 + '.meta.json'));
    return { code: 'INTEGRITY', detail: 'SHARD_MISMATCH', names: SHARD2 };
  },
  'a shard dropped from the weight_map': async (a) => {
    const idx = JSON.parse(dec.decode(await a.read(INDEX)));
    for (const [t, f] of Object.entries(idx.weight_map)) if (f === SHARD2) delete idx.weight_map[t];
    await a.write(INDEX, enc.encode(JSON.stringify(idx, null, 2) + '\n'));
    return { code: 'INTEGRITY', detail: 'INDEX_HASH_MISMATCH', names: INDEX };
  },
  'the index sidecar deleted although a key is given': async (a) => {
    await a.remove(INDEX + '.meta.json');
    return { code: 'AUTH', detail: 'HMAC_MISSING', names: INDEX };
  },
};

async function failure(p) {
  try { await p; } catch (e) { return e; }
  return null;
}

function expectRefused(e, want, how) {
  assert.ok(e, `${how}: accepted`);
  assert.equal([e.code, e.detail], [want.code, want.detail], `${how}: ${e.code}/${e.detail} ${e.message}`);
  assert.ok(e.message.includes(want.names), `${how}: the message names ${want.names}: ${e.message}`);
}

/** Every way of opening the model at `src` for reading, each with the key. */
const OPENERS = {
  'readSafetensors (load all)': (src) => readSafetensors(src, { key: KEY, load: 'all' }),
  'readSafetensors (load none, then one tensor)': async (src) => (await readSafetensors(src, { key: KEY, load: 'none' })).tensor('w0'),
  'openTensors (diff, validation)': async (src) => (await openTensors(src, { key: KEY })).tensor('w0'),
  verify: (src) => verify(src, { key: KEY }),
};

const M = suite('a signed sharded model is bound on read: memory store');
for (const [attack, apply] of Object.entries(ATTACKS)) {
  M(`${attack}: refused by every opener`, async () => {
    const [a, b] = await twoSignedModels();
    for (const [how, open] of Object.entries(OPENERS)) assert.ok(await open({ store: a, key: INDEX }), `${how}: the intact model opens`);
    const want = await apply(a, b);
    for (const [how, open] of Object.entries(OPENERS)) {
      for (const key of [INDEX, '']) expectRefused(await failure(open({ store: a, key })), want, `${how} of '${key || 'the folder'}'`);
    }
  });
}
M('without a key an intact index sidecar still binds the shards (as verify does)', async () => {
  const [a, b] = await twoSignedModels();
  await ATTACKS[Object.keys(ATTACKS)[0]](a, b);
  const e = await failure(readSafetensors({ store: a, key: INDEX }));
  assert.equal([e?.code, e?.detail], ['INTEGRITY', 'SHARD_MISMATCH']);
});
M('without a key a model with no index sidecar is read (nothing to bind it to), as verify accepts it', async () => {
  const [a] = await twoSignedModels();
  await a.remove(INDEX + '.meta.json');
  const f = await readSafetensors({ store: a, key: INDEX });
  assert.is(f.names.length, 5);
  assert.is((await verify({ store: a, key: INDEX })).kind, 'sharded');
});

const F = suite('a signed sharded model is bound on read: a folder on disk');
if (!isBrowser) {
  F('each attack is refused by readSafetensors and openTensors of the folder and of the index', async () => {
    const fs = await import('node:fs/promises');
    for (const [attack, apply] of Object.entries(ATTACKS)) {
      const [a, b] = await twoSignedModels();
      const want = await apply(a, b);
      const dir = await tempDir();
      for (const e of await a.list('')) await fs.writeFile(`${dir}/${e.key}`, await a.read(e.key));
      for (const src of [dir, `${dir}/${INDEX}`]) {
        expectRefused(await failure(readSafetensors(src, { key: KEY })), want, `${attack}, readSafetensors(${src})`);
        expectRefused(await failure(openTensors(src, { key: KEY })), want, `${attack}, openTensors(${src})`);
      }
    }
  });
}

const W = suite('a signed sharded model is bound on read: over HTTP (nginx)');
W('each attack is refused before any tensor is fetched', async () => {
  let n = 0;
  for (const [attack, apply] of Object.entries(ATTACKS)) {
    const [a, b] = await twoSignedModels();
    const want = await apply(a, b);
    const rel = `sharded-bind/${isBrowser ? 'chromium' : globalThis.Deno ? 'deno' : 'node'}-${Date.now()}-${n++}`;
    for (const e of await a.list('')) await serveFile(`${rel}/${e.key}`, await a.read(e.key));
    const url = `${testEnv('SAFECKPT_TEST_HTTP')}/${rel}/${INDEX}`;
    expectRefused(await failure(readSafetensors(url, { key: KEY })), want, `${attack}, readSafetensors(${url})`);
    expectRefused(await failure(openTensors(url, { key: KEY })), want, `${attack}, openTensors(${url})`);
  }
});
W('an intact signed sharded model reads over HTTP with the key', async () => {
  const [a] = await twoSignedModels();
  const rel = `sharded-bind/${isBrowser ? 'chromium' : globalThis.Deno ? 'deno' : 'node'}-${Date.now()}-ok`;
  for (const e of await a.list('')) await serveFile(`${rel}/${e.key}`, await a.read(e.key));
  const f = await readSafetensors(`${testEnv('SAFECKPT_TEST_HTTP')}/${rel}/${INDEX}`, { key: KEY });
  assert.equal((await f.tensor('w3')).bytes(), await (await readSafetensors({ store: a, key: INDEX }, { key: KEY })).tensor('w3').then((t) => t.bytes()));
});

M.run();
F.run();
W.run();

// Files a checkpoint root holds besides the checkpoints — registry.json, the
// manifest as written, the folder names — are read back as untrusted input,
// and concurrent writers share them without losing anything.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { saveCheckpoint, loadCheckpoint, listCheckpoints, MemoryStore, joinKey } from '../dist/internal.js';
import { ready } from './_tiny.js';
import { isBrowser, runtime } from './_env.js';
import { freshRoot, storeOf, readFile, writeFile, listNames, recordingLogger, expectError } from './_ckpt-env.js';
import { crashState, resumeMarker, loadMarker, KEY } from './_crash-state.js';

await ready;
const enc = new TextEncoder();
const dec = new TextDecoder();
const json = async (root, rel) => JSON.parse(dec.decode(await readFile(root, rel)));

async function save(root, step, marker, opts, metadata) {
  const s = crashState(step, marker, metadata);
  try {
    return await saveCheckpoint(root, s.state, opts);
  } finally {
    s.dispose();
  }
}

const Registry = suite('registry.json is untrusted: a broken one is reported and rebuilt, never propagated');

const BROKEN = {
  'a malformed lineage (chain not a list)': (r) => { r.models['crash-model'].lineage = { fine_tuned_from: null, chain: 'oops' }; return r; },
  'a lineage link without started_at': (r) => { delete r.models['crash-model'].lineage.chain[0].started_at; return r; },
  'a numeric fine_tuned_from': (r) => { r.models['crash-model'].lineage.fine_tuned_from = 7; return r; },
  'checkpoints that are not folder names': (r) => { r.models['crash-model'].checkpoints = ['../../etc']; return r; },
  'an entry that is a string': (r) => { r.models['crash-model'] = 'x'; return r; },
  'another format': (r) => ({ ...r, format: 'something.else' }),
  'models as a list': (r) => ({ ...r, models: [] }),
};

for (const [what, damage] of Object.entries(BROKEN)) {
  Registry(`${what}: the next save warns, takes the lineage from the manifests, loads, and rewrites registry.json whole`, async () => {
    const root = await freshRoot('reg');
    await save(root, 1, 1);
    const lineage1 = (await loadCheckpoint(root)).lineage;
    await writeFile(root, 'registry.json', enc.encode(JSON.stringify(damage(await json(root, 'registry.json')))));
    const log = recordingLogger();
    await save(root, 2, 2, { logger: log });
    assert.ok(log.records.some((r) => r.level === 'WARN' && /registry\.json is unreadable: rebuilding/.test(r.msg)), JSON.stringify(log.records.map((r) => r.msg)));
    const loaded = await loadCheckpoint(root);
    assert.is(loaded.step, 2);
    assert.equal(loaded.lineage, lineage1, 'the lineage came from the manifest, not the broken registry');
    const reg = await json(root, 'registry.json');
    assert.equal(reg.models['crash-model'].checkpoints, ['step-00000001', 'step-00000002']);
    assert.equal(reg.models['crash-model'].lineage, lineage1);
  });
}

Registry('not JSON at all: rebuilt from the manifests, every model and checkpoint', async () => {
  const root = await freshRoot('reg');
  await save(root, 1, 1);
  await save(root, 2, 2, {}, { model_name: 'other' });
  await writeFile(root, 'registry.json', enc.encode('{"format": "safeckpt.registry", "models": {'));
  await save(root, 3, 3);
  const reg = await json(root, 'registry.json');
  assert.equal(Object.keys(reg.models).sort(), ['crash-model', 'other']);
  assert.equal(reg.models['crash-model'].checkpoints, ['step-00000001', 'step-00000003']);
  assert.equal(reg.models.other.checkpoints, ['step-00000002']);
});

Registry('a registry.json that is a folder does not block saves (warned; the checkpoint commits)', async () => {
  const root = await freshRoot('reg');
  await save(root, 1, 1);
  await writeFile(root, 'registry.json.tmp/x', enc.encode('x'));
  const { store, key } = storeOf(root);
  await store.remove(joinKey(key, 'registry.json'));
  await store.rename(joinKey(key, 'registry.json.tmp'), joinKey(key, 'registry.json'));
  const log = recordingLogger();
  const info = await save(root, 2, 2, { logger: log });
  assert.is(info.name, 'step-00000002');
  assert.equal(await loadMarker(root), { step: 2, marker: 2, name: 'step-00000002' });
  // fs cannot replace the folder (warned); OPFS replaces it with the new registry.
  const replaced = await json(root, 'registry.json').then((r) => r.models['crash-model'].checkpoints.length === 2, () => false);
  assert.ok(replaced || log.records.some((r) => r.level === 'WARN'), 'warned');
});

Registry('a model named __proto__ is a model like any other', async () => {
  const root = await freshRoot('reg');
  await save(root, 1, 1, {}, { model_name: '__proto__' });
  await save(root, 2, 2, {}, { model_name: '__proto__' });
  const reg = await json(root, 'registry.json');
  assert.equal(Object.getOwnPropertyDescriptor(reg.models, '__proto__')?.value?.checkpoints, ['step-00000001', 'step-00000002']);
});

const Writer = suite('the writer checks what it wrote before LATEST moves to it');

Writer('a caller-given malformed lineage is refused before anything is written', async () => {
  const root = await freshRoot('reg');
  await save(root, 1, 1);
  const s = crashState(2, 2);
  await expectError(saveCheckpoint(root, { ...s.state, lineage: { chain: [{ model_name: 3 }] } }), 'UNSUPPORTED');
  s.dispose();
  assert.equal((await listNames(root)).filter((n) => n.startsWith('step-')), ['step-00000001']);
});

Writer('a manifest that does not read back as written fails the save; LATEST stays', async () => {
  const inner = new MemoryStore();
  const ref = { store: inner, key: 'r' };
  await save(ref, 1, 1);
  const lying = Object.create(inner);
  lying.read = async (key, range) => {
    const b = await inner.read(key, range);
    if (!key.endsWith('checkpoint.json') || !key.includes('.tmp-')) return b;
    const c = b.slice();
    c[c.length - 3] ^= 1; // the store hands back something else than it was given
    return c;
  };
  const e = await expectError(save({ store: lying, key: 'r' }, 2, 2), 'IO');
  assert.is(e.detail, 'READBACK');
  assert.equal(await loadMarker(ref), { step: 1, marker: 1, name: 'step-00000001' });
});

const Names = suite('a checkpoint folder is bound to its step by name');

Names('a signed folder copied under another step\'s name is refused (INTEGRITY), and resume passes over it', async () => {
  const root = await freshRoot('reg');
  await save(root, 1, 1, { key: KEY });
  await save(root, 2, 2, { key: KEY });
  const { store, key } = storeOf(root);
  for (const f of await listNames(root, 'step-00000001')) await store.write(joinKey(key, `step-00000007/${f}`), await readFile(root, `step-00000001/${f}`));
  const e = await expectError(loadCheckpoint(joinKey(root, 'step-00000007'), { key: KEY }), 'INTEGRITY');
  assert.is(e.detail, 'STEP_MISMATCH');
  assert.match(e.message, /named for step 7, but its manifest is for step 1/);
  await writeFile(root, 'LATEST', enc.encode('step-00000007\n'));
  const r = await resumeMarker(root, { key: KEY });
  assert.equal([r.step, r.marker], [2, 2]);
  assert.equal(r.skipped.map((s) => [s.name, s.code]), [['step-00000007', 'INTEGRITY']]);
});

const Concurrent = suite('concurrent writers lose no registry entry');

// In-process concurrency on fs; OPFS refuses to move a file onto one being moved (LATEST), and the memory store's
// LATEST is compare-and-swap (one of two racing saves fails CONFLICT, by design).
if (!isBrowser) Concurrent('saves running at once in one process: every checkpoint registered', async () => {
  const root = await freshRoot('conc');
  await Promise.all(Array.from({ length: 4 }, (_, w) => (async () => {
    for (let i = 1; i <= 5; i++) await save(root, w * 100 + i, i, {}, { model_name: `writer-${w}` });
  })()));
  const reg = await json(root, 'registry.json');
  for (let w = 0; w < 4; w++) assert.equal(reg.models[`writer-${w}`].checkpoints, [1, 2, 3, 4, 5].map((i) => `step-${String(w * 100 + i).padStart(8, '0')}`));
});

if (!isBrowser) {
  Concurrent('4 processes saving 10 checkpoints each into one root: all 40 registered', async () => {
    const { spawnChild, childCommand } = await import('./_kill-campaign.js');
    const root = await freshRoot('conc');
    const command = await childCommand(runtime);
    const runs = await Promise.all(Array.from({ length: 4 }, (_, w) => spawnChild(command, {
      root, writer: { model: `proc-${w}`, steps: Array.from({ length: 10 }, (_, i) => w * 100 + i + 1) },
    })));
    for (const r of runs) assert.ok(r.lines.includes('DONE'), `a writer failed: ${r.code} ${r.err}`);
    const reg = await json(root, 'registry.json');
    let n = 0;
    for (let w = 0; w < 4; w++) {
      assert.is(reg.models[`proc-${w}`]?.checkpoints.length, 10, `proc-${w}: ${JSON.stringify(reg.models[`proc-${w}`]?.checkpoints)}`);
      n += reg.models[`proc-${w}`].checkpoints.length;
    }
    assert.is(n, 40);
    assert.is((await listCheckpoints(root)).length, 40);
    assert.not.ok((await listNames(root)).some((x) => x.includes('.lock') || x.includes('.tmp-')), 'no lock or temporary file left');
  });

  Concurrent('a lock left by a killed writer (its process gone) does not hold up the next save', async () => {
    const { spawnSync } = await import('node:child_process');
    const os = await import('node:os');
    const root = await freshRoot('conc');
    await save(root, 1, 1);
    const gone = spawnSync(globalThis.Deno ? Deno.execPath() : process.execPath, globalThis.Deno ? ['eval', ''] : ['-e', '']).pid;
    await writeFile(root, 'registry.json.lock', enc.encode(JSON.stringify({ id: 'dead', pid: gone, host: os.hostname(), at: Date.now() })));
    await save(root, 2, 2);
    assert.equal((await json(root, 'registry.json')).models['crash-model'].checkpoints, ['step-00000001', 'step-00000002']);
    assert.not.ok((await listNames(root)).includes('registry.json.lock'));
  });
}

Registry.run();
Writer.run();
Names.run();
Concurrent.run();

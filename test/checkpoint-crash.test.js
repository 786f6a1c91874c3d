// Crash safety of a checkpoint commit, in every runtime and store: a save is
// stopped dead at each store operation in turn (before it, and half-way
// through each write — test/_fault-store.js), as a SIGKILL or a closed tab
// would stop it, and nothing runs after (not even its cleanup). After each:
// the root still loads (LATEST names a complete checkpoint, or one that
// readers find where a re-save set it aside), resume restores the committed
// state and removes the leftovers, and no committed checkpoint is lost. The
// same with real SIGKILLs in child processes: checkpoint-kill-campaign.test.js.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { saveCheckpoint, listCheckpoints, MemoryStore, joinKey } from '../dist/internal.js';
import { ready } from './_tiny.js';
import { isBrowser } from './_env.js';
import { freshRoot, storeOf, listNames, recordingLogger } from './_ckpt-env.js';
import { FaultStore, killPoints } from './_fault-store.js';
import { crashState, resumeMarker, loadMarker } from './_crash-state.js';

await ready;

async function save(root, step, marker, opts) {
  const s = crashState(step, marker);
  try {
    return await saveCheckpoint(root, s.state, opts);
  } finally {
    s.dispose();
  }
}

/** Copies every file under `from` to `to` (refs { store, key }), in any stores. */
async function copyTree(from, to) {
  for (const e of await from.store.list(from.key)) {
    const rel = e.key.slice(from.key === '' ? 0 : from.key.length + 1);
    if (e.isDirectory) await copyTree({ store: from.store, key: e.key }, { store: to.store, key: joinKey(to.key, rel) });
    else await to.store.write(joinKey(to.key, rel), await from.store.read(e.key));
  }
}

let n = 0;
/** The backends a root can live in here: memory everywhere; fs in Node/Deno; OPFS and IndexedDB in Chromium. */
const BACKENDS = {
  memory: async () => ({ store: new MemoryStore(), key: 'ckpt' }),
  ...(isBrowser
    ? { opfs: async () => storeOf(await freshRoot('crash')), idb: async () => storeOf(`idb:safeckpt-crash/r${Date.now().toString(36)}-${n++}`) }
    : { fs: async () => storeOf(await freshRoot('crash')) }),
};

/** A root holding steps 1, 2, 3 (markers 1, 2, 3; LATEST → step 3). */
async function baseRoot(make) {
  const ref = await make();
  for (const s of [1, 2, 3]) await save(ref, s, s);
  return ref;
}

/**
 * Runs `target(root)` on a copy of `template` that dies at `point`; returns the copy (the dead
 * save's store as it was left). Calibrates when `point` is null: returns the trace.
 */
async function crashed(make, template, point, target) {
  const ref = await make();
  await copyTree(template, ref);
  const fault = new FaultStore(ref.store, point ?? {});
  try {
    await target({ store: fault, key: ref.key });
    if (point) assert.unreachable(`the save survived its death at ${JSON.stringify(point)}`);
  } catch (e) {
    if (!fault.dead) throw e;
  }
  return point ? ref : fault.trace;
}

const names = async (ref) => (await ref.store.list(ref.key)).map((e) => e.key.slice(e.key.lastIndexOf('/') + 1)).sort();

/**
 * Kills a save of step `step` (marker `marker`) of the base root at every point; after each, the
 * root loads one of `latest` (what LATEST named before, or the new one), resume restores the
 * same, leftovers are removed, and the other steps are intact.
 */
async function campaign(make, { step, marker, latestBefore, window }) {
  const template = await baseRoot(make);
  const target = (root) => save(root, step, marker);
  const trace = await crashed(make, template, null, target);
  let points = killPoints(trace);
  // On slow backends only the commit itself (from the folder's rename on) is swept; memory sweeps every point.
  if (window) points = points.filter((p) => p.at >= trace.findIndex((t) => t.op === 'exists' && /step-\d+$/.test(t.key)));
  const seen = new Set();
  for (const p of points) {
    const ref = await crashed(make, template, p, target);
    const where = `killed at ${p.at} (${p.op} ${p.key}${p.mid ? ', half-way' : ''})`;
    // Before any recovery: LATEST loads, and every listed checkpoint verifies.
    const before = await loadMarker(ref).catch((e) => assert.unreachable(`${where}: LATEST does not load: ${e.code} ${e.message}`));
    const ok = [[latestBefore, latestBefore], [step, marker]].map((x) => x.join('/'));
    assert.ok(ok.includes(`${before.step}/${before.marker}`), `${where}: LATEST loads step ${before.step} marker ${before.marker}`);
    for (const c of await listCheckpoints(ref)) {
      assert.is(c.problem, undefined, `${where}: ${c.name}`);
      await loadMarker(c.path.startsWith('memory:') ? { store: ref.store, key: c.path.slice(7) } : isBrowser ? { store: ref.store, key: joinKey(ref.key, c.path.slice(c.path.lastIndexOf('/') + 1)) } : c.path)
        .catch((e) => assert.unreachable(`${where}: listed ${c.name} does not verify: ${e.code} ${e.message}`));
    }
    // Resume puts the committed state back and cleans up.
    const log = recordingLogger();
    const r = await resumeMarker(ref, { logger: log });
    assert.equal([r.step, r.marker], [before.step, before.marker], `${where}: resume agrees with LATEST`);
    assert.equal(r.skipped, [], `${where}: nothing skipped`);
    const left = await names(ref);
    assert.equal(left.filter((x) => x.includes('.tmp-') || x.includes('.replaced-')), [], `${where}: leftovers removed`);
    for (const s of [1, 2, 3]) {
      const got = await loadMarker({ store: ref.store, key: joinKey(ref.key, `step-0000000${s}`) })
        .catch((e) => assert.unreachable(`${where}: step ${s} lost: ${e.code} ${e.message}`));
      assert.ok(got.marker === s || (s === step && got.marker === marker), `${where}: step ${s} holds marker ${got.marker}`);
    }
    seen.add(`${before.marker}${r.restored.length ? '+restored' : ''}`);
  }
  return { points: points.length, seen: [...seen].sort() };
}

const Resave = suite('a save stopped dead at any store operation never loses the committed checkpoint');

for (const [backend, make] of Object.entries(BACKENDS)) {
  const window = backend !== 'memory';
  Resave(`${backend}: re-saving the step LATEST names${window ? ' (the commit window)' : ''}`, async () => {
    const r = await campaign(make, { step: 3, marker: 30, latestBefore: 3, window });
    // The sweep must have hit both sides of the commit, and the window between the renames.
    assert.equal(r.seen, ['3', '3+restored', '30'], JSON.stringify(r));
  });
  Resave(`${backend}: re-saving an older step${window ? ' (the commit window)' : ''}`, async () => {
    const r = await campaign(make, { step: 2, marker: 20, latestBefore: 3, window });
    assert.equal(r.seen, ['20', '3', '3+restored'], JSON.stringify(r));
  });
}

const Recovery = suite('recovery after a re-save was killed between its two renames');

Recovery('readers find the committed folder set aside; resume restores it under its name, never deletes it', async () => {
  const ref = await baseRoot(BACKENDS.memory);
  // The state a kill between the renames leaves: no step-00000003, the committed one set aside, the new one complete.
  await ref.store.rename(joinKey(ref.key, 'step-00000003'), joinKey(ref.key, 'step-00000003.replaced-mgs1k2x0'));
  const other = await BACKENDS.memory();
  await save(other, 3, 30);
  await copyTree({ store: other.store, key: joinKey(other.key, 'step-00000003') }, { store: ref.store, key: joinKey(ref.key, 'step-00000003.tmp-mgs1k2x1-0123abcd') });
  assert.equal(await loadMarker(ref), { step: 3, marker: 3, name: 'step-00000003.replaced-mgs1k2x0' });
  assert.equal((await listCheckpoints(ref)).map((c) => [c.name, c.latest]), [['step-00000001', false], ['step-00000002', false], ['step-00000003', true]]);
  const log = recordingLogger();
  const r = await resumeMarker(ref, { logger: log });
  assert.equal([r.step, r.marker, r.name, r.restored], [3, 3, 'step-00000003', ['step-00000003']]);
  assert.ok(log.records.some((x) => x.level === 'WARN' && /re-save of step-00000003 was interrupted/.test(x.msg)), JSON.stringify(log.records));
  assert.equal(await names(ref), ['LATEST', 'registry.json', 'step-00000001', 'step-00000002', 'step-00000003']);
});

Recovery('with one checkpoint kept, resume still finds it (it used to restart from step 0)', async () => {
  const ref = await BACKENDS.memory();
  await save(ref, 5, 5);
  await ref.store.rename(joinKey(ref.key, 'step-00000005'), joinKey(ref.key, 'step-00000005.replaced-mgs1k2x0'));
  const r = await resumeMarker(ref);
  assert.equal([r.step, r.marker], [5, 5]);
});

Recovery('a set-aside folder is removed only when the folder under its name verifies', async () => {
  const ref = await baseRoot(BACKENDS.memory);
  // A completed re-save killed before it removed the old folder: the new one verifies, the old one goes.
  const other = await BACKENDS.memory();
  await save(other, 2, 20);
  await ref.store.rename(joinKey(ref.key, 'step-00000002'), joinKey(ref.key, 'step-00000002.replaced-mgs1k2x0'));
  await copyTree({ store: other.store, key: joinKey(other.key, 'step-00000002') }, { store: ref.store, key: joinKey(ref.key, 'step-00000002') });
  // A half-renamed new folder (stores whose folder rename moves file by file): the complete old one wins.
  await ref.store.rename(joinKey(ref.key, 'step-00000001'), joinKey(ref.key, 'step-00000001.replaced-mgs1k2x0'));
  await ref.store.write(joinKey(ref.key, 'step-00000001/checkpoint.json'), await ref.store.read(joinKey(ref.key, 'step-00000002/checkpoint.json')));
  const r = await resumeMarker(ref);
  assert.equal(r.restored, ['step-00000001']);
  assert.equal(r.cleaned.filter((x) => x.includes('.replaced-')), ['step-00000002.replaced-mgs1k2x0']);
  assert.is((await loadMarker({ store: ref.store, key: joinKey(ref.key, 'step-00000001') })).marker, 1);
  assert.is((await loadMarker({ store: ref.store, key: joinKey(ref.key, 'step-00000002') })).marker, 20);
});

Recovery('a rename that fails (not a kill) between the two puts the committed folder back at once', async () => {
  const ref = await baseRoot(BACKENDS.memory);
  let renames = 0;
  const flaky = Object.create(ref.store);
  flaky.rename = async (from, to) => {
    if (/step-\d+\.tmp-[^/]+$/.test(from) && renames++ === 0) throw new Error('EIO');
    return ref.store.rename(from, to);
  };
  await save({ store: flaky, key: ref.key }, 3, 30).then(() => assert.unreachable('the save succeeded'), (e) => assert.is(e.code, 'IO'));
  assert.equal(await loadMarker(ref), { step: 3, marker: 3, name: 'step-00000003' });
  assert.equal(await names(ref), ['LATEST', 'registry.json', 'step-00000001', 'step-00000002', 'step-00000003']);
});

Resave.run();
Recovery.run();

// saveCheckpoint, loadCheckpoint and resumeTraining under an AbortSignal, with progress (#15 items 3-4): an
// aborted save rejects with the signal's reason and leaves no step folder, no temporary folder and LATEST as
// it was; an aborted load or resume rejects with the reason and assigns nothing (the model keeps its
// weights); a save's and a load's progress is { done, total, phase } in bytes, monotonic, ending at total.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { saveCheckpoint, loadCheckpoint, resumeTraining, saveWeights, loadWeights, MemoryStore, isTempKey } from '../dist/internal.js';
import { TinyLM } from '../dist/demo/index.js';
import { tf, ready, OPTIMIZERS, TEST_CONFIG, VOCAB, weightBytes } from './_tiny.js';
import { freshRoot, listNames, readFile } from './_ckpt-env.js';

await ready;
const dec = new TextDecoder();
class Reason extends Error {}

function run(seed = 1) {
  tf.util.seedrandom?.(seed);
  const model = TinyLM.create(tf, TEST_CONFIG, { prefix: `abort${seed}/` });
  const opt = OPTIMIZERS.adam();
  return { model, opt, dispose() { model.dispose?.(); opt.dispose?.(); } };
}

/** An onProgress that records every call and checks monotonicity and bounds on each. */
function recorder(onCall) {
  const calls = [];
  const fn = (p) => {
    const prev = calls[calls.length - 1];
    if (prev) {
      assert.ok(p.done >= prev.done, `done went down: ${prev.done} → ${p.done}`);
      assert.is(p.total, prev.total);
    }
    assert.ok(p.done <= p.total);
    calls.push({ ...p });
    onCall?.(p);
  };
  fn.calls = calls;
  fn.last = () => calls[calls.length - 1];
  return fn;
}

const latestOf = async (root) => dec.decode(await readFile(root, 'LATEST')).trim();

const S = suite('checkpoints under an AbortSignal, with progress');
S('a save reports progress to its total; an aborted save (before or mid-way) leaves LATEST and the folder list as they were', async () => {
  const root = await freshRoot('abort');
  const r = run(1);
  const p = recorder();
  await saveCheckpoint(root, { model: r.model, optimizer: r.opt, step: 1, vocab: VOCAB }, { onProgress: p });
  assert.is(p.last().phase, 'write');
  assert.is(p.last().done, p.last().total);
  assert.ok(p.last().total >= weightBytes(r.model).length, 'the model weights at least');
  const before = await listNames(root);
  for (const when of ['before', 'mid-way']) {
    const c = new AbortController();
    const reason = new Reason(when);
    if (when === 'before') c.abort(reason);
    const onProgress = recorder((x) => { if (x.done > 0 && x.done < x.total) c.abort(reason); });
    const e = await saveCheckpoint(root, { model: r.model, optimizer: r.opt, step: 2, vocab: VOCAB }, { signal: c.signal, onProgress }).catch((x) => x);
    assert.is(e, reason, when);
    const names = await listNames(root);
    assert.equal(names.filter((n) => !isTempKey(n)), before, `${when}: ${names.join(', ')}`);
    assert.ok(!names.some(isTempKey), `${when}: no temporary folder is left`);
    assert.is(await latestOf(root), 'step-00000001');
  }
  r.dispose();
});
S('an aborted load or resume rejects with the reason and assigns nothing; a load reports progress to its total', async () => {
  const root = await freshRoot('abort-load');
  const a = run(1);
  await saveCheckpoint(root, { model: a.model, optimizer: a.opt, step: 1, vocab: VOCAB });
  const b = run(2);
  const untouched = weightBytes(b.model);
  for (const when of ['before', 'mid-way']) {
    const c = new AbortController();
    const reason = new Reason(when);
    if (when === 'before') c.abort(reason);
    const onProgress = recorder((x) => { if (x.done > 0 && x.done < x.total) c.abort(reason); });
    assert.is(await loadCheckpoint(root, { model: b.model, signal: c.signal, onProgress }).catch((x) => x), reason, `load ${when}`);
    assert.equal(weightBytes(b.model), untouched, `load ${when}: nothing assigned`);
  }
  const resumed = await resumeTraining(root, { model: b.model, optimizer: b.opt, signal: AbortSignal.abort(new Reason('resume')) }).catch((x) => x);
  assert.instance(resumed, Reason);
  assert.equal(weightBytes(b.model), untouched, 'resume: nothing assigned');
  const p = recorder();
  await loadCheckpoint(root, { model: b.model, onProgress: p });
  assert.equal([p.last().phase, p.last().done], ['read', p.last().total]);
  assert.equal(weightBytes(b.model), weightBytes(a.model));
  a.dispose();
  b.dispose();
});
S('a resume aborted while it reads is not mistaken for damage: it rejects with the reason, never falls back to an older checkpoint', async () => {
  const c = new AbortController();
  const reason = new Reason('mid-resume');
  let armed = false;
  class AbortingStore extends MemoryStore {
    async read(key, range) {
      if (armed && key.endsWith('step-00000002/model.safetensors')) c.abort(reason);
      return super.read(key, range);
    }
  }
  const store = new AbortingStore();
  const a = run(1);
  await saveCheckpoint({ store, key: '' }, { model: a.model, optimizer: a.opt, step: 1, vocab: VOCAB });
  await saveCheckpoint({ store, key: '' }, { model: a.model, optimizer: a.opt, step: 2, vocab: VOCAB });
  const b = run(2);
  const untouched = weightBytes(b.model);
  armed = true;
  assert.is(await resumeTraining({ store, key: '' }, { model: b.model, optimizer: b.opt, signal: c.signal }).catch((x) => x), reason);
  assert.equal(weightBytes(b.model), untouched);
  a.dispose();
  b.dispose();
});
S('saveWeights and loadWeights: an abort leaves no file and assigns nothing; saveWeights reports progress to its total', async () => {
  const store = new MemoryStore();
  const a = run(1);
  const p = recorder();
  await saveWeights({ store, key: 'w.safetensors' }, a.model, { onProgress: p });
  assert.equal([p.last().phase, p.last().done], ['write', p.last().total]);
  const c = new AbortController();
  const reason = new Reason('save weights');
  const onProgress = recorder((x) => { if (x.done > 0 && x.done < x.total) c.abort(reason); });
  assert.is(await saveWeights({ store, key: 'x.safetensors' }, a.model, { signal: c.signal, onProgress }).catch((x) => x), reason);
  assert.equal((await store.list('')).map((e) => e.key).sort(), ['w.safetensors', 'w.safetensors.meta.json']);
  const b = run(2);
  const untouched = weightBytes(b.model);
  const r = new Reason('load weights');
  assert.is(await loadWeights({ store, key: 'w.safetensors' }, b.model, { signal: AbortSignal.abort(r) }).catch((x) => x), r);
  assert.equal(weightBytes(b.model), untouched);
  await loadWeights({ store, key: 'w.safetensors' }, b.model);
  assert.equal(weightBytes(b.model), weightBytes(a.model));
  a.dispose();
  b.dispose();
});
S.run();

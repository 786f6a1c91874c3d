// One training job, run in a FRESH realm: a child process (Node, Deno: see
// _ckpt-worker.js) or a module Worker (Chromium: ckpt.worker.js) — a new
// TensorFlow.js engine, a new wasm instance, nothing shared with the test but
// the checkpoint store. The tests compare what it reports with an
// uninterrupted run.
import { tf, ready, OPTIMIZERS, TEST_CONFIG, TOKENS, BATCH, VOCAB, disposeOptimizer } from './_tiny.js';
import { saveCheckpoint, resumeTraining, loadCheckpoint, sha256, toHex } from '../dist/index.js';
import { TinyLM, TrainLoop } from '../dist/demo/index.js';

let jobs = 0;

/** Hex SHA-256 of every variable's bytes in model order: equal digests = bit-identical weights. */
export function weightsDigest(model) {
  const h = [];
  for (const v of Object.values(model.variables)) h.push(toHex(sha256(new Uint8Array(v.dataSync().buffer.slice(0)))));
  return toHex(sha256(h.join('')));
}

function state(loop, name, lineage, metadata) {
  return {
    model: loop.model, optimizer: loop.optimizer, step: loop.step, config: { ...BATCH, optimizer: name }, vocab: VOCAB,
    rng: { dropout_seed: loop.model.config.seed }, dataCursor: loop.sampler.state(), extra: { schedule: { warmup_done: loop.step >= 5 } },
    metrics: { loss: loop.lastLoss ?? 0 }, ...(lineage ? { lineage } : {}), ...(metadata ? { metadata } : { metadata: { model_name: 'tiny-alice' } }),
  };
}

/**
 * spec: { op: 'train' | 'resume' | 'loop-save', root, optimizer, until, saveAt?: number[], saveTo?: {step: root}, key?, newModelName? }
 *  train:     fresh model, train to `until`, saving into `root` at each step of saveAt, and into saveTo[step].
 *  resume:    resumeTraining(root) into a fresh model, train to `until` (saving at saveAt).
 *  loop-save: fresh model; every step: train, save (until killed or `until`). Reports 'ready' first through onReady.
 * Returns { losses: {step: loss}, digest, from, skipped, lineage }.
 */
export async function runJob(spec, onReady, onStep) {
  await ready;
  const name = spec.optimizer ?? 'adam';
  // Jobs run side by side in one realm need their own variable names (tfjs registers them globally).
  const model = TinyLM.create(tf, TEST_CONFIG, { prefix: spec.prefix ?? `job${jobs++}/` });
  const opt = OPTIMIZERS[name]();
  let loop, from = 0, skipped = [], lineage, metadata;
  if (spec.op === 'resume') {
    const r = await resumeTraining(spec.root, { model, optimizer: opt, key: spec.key, newModelName: spec.newModelName });
    loop = new TrainLoop(model, opt, { tokens: TOKENS, ...BATCH, cursor: r.dataCursor, step: r.step });
    from = r.step;
    skipped = r.skipped.map((s) => s.name);
    lineage = r.lineage;
    metadata = r.metadata;
  } else {
    loop = new TrainLoop(model, opt, { tokens: TOKENS, ...BATCH });
  }
  const losses = {};
  const saveAt = new Set(spec.saveAt ?? []);
  // loop-save reports ready once its first checkpoint is committed: kills then land among later steps and saves.
  if (spec.op !== 'loop-save') onReady?.();
  while (loop.step < spec.until) {
    const [loss] = loop.run(1);
    loop.lastLoss = loss;
    losses[loop.step] = loss;
    if (spec.op === 'loop-save' || saveAt.has(loop.step)) {
      await saveCheckpoint(spec.root, state(loop, name, lineage, metadata), { key: spec.key, retention: spec.retention });
      if (spec.op === 'loop-save' && loop.step === 1) onReady?.();
    }
    onStep?.(loop.step);
    if (spec.saveTo?.[loop.step]) await saveCheckpoint(spec.saveTo[loop.step], state(loop, name, lineage, metadata), { key: spec.key });
  }
  const digest = weightsDigest(model);
  model.dispose();
  disposeOptimizer(opt);
  return { losses, digest, from, skipped, lineage, metadata };
}

export { loadCheckpoint };

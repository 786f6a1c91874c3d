// The training state the crash tests save: two tf.Variables and an Adam
// optimizer with its slots (so every file a checkpoint can hold is written),
// and a `marker` in trainer_state.json's `extra` that says which save wrote a
// folder. Shared by checkpoint-crash.test.js and the kill campaign's child.
import { tf } from './_tiny.js';
import { loadCheckpoint, resumeTraining } from '../dist/index.js';

export const MODEL = { model_name: 'crash-model' };
/** The fine-tuned variant the kill campaign's `finetune` path registers. */
export const FT_MODEL = { model_name: 'crash-ft', source: 'finetuned' };
export const KEY = 'kill-campaign-key';

/** A fresh state for `step`, its values set by `marker` (dispose() after the save). */
export function crashState(step, marker, metadata = MODEL, rows = 24) {
  // tidy: the initial values go; the variables stay until dispose() (Chromium's test files share one tf and count tensors).
  // `rows`: w is [rows, 24] — 65536 rows make a 6 MiB model file (and 12 MiB of Adam slots): multipart uploads on S3.
  const [w, b] = tf.tidy(() => [tf.variable(tf.fill([rows, 24], marker + step / 1000)), tf.variable(tf.fill([24], -marker))]);
  const optimizer = tf.train.adam(0.01);
  optimizer.minimize(() => tf.sum(tf.mul(tf.matMul(w, tf.reshape(b, [24, 1])), tf.scalar(1e-3))), false, [w, b]);
  return {
    state: { model: { w, b }, optimizer, step, metadata, extra: { marker }, metrics: { loss: marker }, config: { marker } },
    dispose() { w.dispose(); b.dispose(); optimizer.dispose(); },
  };
}

/** A model + optimizer to resume into (same shapes). */
export function crashTarget(rows = 24) {
  const [w, b] = tf.tidy(() => [tf.variable(tf.zeros([rows, 24])), tf.variable(tf.zeros([24]))]);
  const optimizer = tf.train.adam(0.01);
  optimizer.minimize(() => tf.sum(tf.mul(w, tf.scalar(0))), false, [w, b]);
  return { model: { w, b }, optimizer, tf, dispose() { w.dispose(); b.dispose(); optimizer.dispose(); } };
}

/** resumeTraining into a fresh target; returns { step, marker, skipped, cleaned, restored }. */
export async function resumeMarker(root, opts = {}) {
  const t = crashTarget();
  try {
    const r = await resumeTraining(root, { model: t.model, optimizer: t.optimizer, tf, ...opts });
    return { step: r.step, marker: r.extra?.marker, skipped: r.skipped, cleaned: r.cleaned, restored: r.restored, name: r.name, lineage: r.lineage, metadata: r.metadata };
  } finally {
    t.dispose();
  }
}

/** loadCheckpoint (verifies every byte) of a root or folder; returns { step, marker, name }. */
export async function loadMarker(src) {
  const c = await loadCheckpoint(src);
  return { step: c.step, marker: c.extra?.marker, name: c.name };
}

/** The model the multi-writer kill campaign's ranks save: rank r owns `r${r}.w` (its shard) and its own Adam. */
export function partState(step, marker, rank) {
  const w = tf.tidy(() => tf.variable(tf.fill([16, 16], marker + step / 1000)));
  const optimizer = tf.train.adam(0.01);
  optimizer.minimize(() => tf.sum(tf.mul(w, tf.scalar(1e-3))), false, [w]);
  return {
    state: { model: { [`r${rank}.w`]: w }, optimizer, step, metadata: MODEL, extra: { marker }, metrics: { loss: marker }, config: { marker, rank } },
    dispose() { w.dispose(); optimizer.dispose(); },
  };
}

/** A model holding every rank's shard (zeros), to load the union of a multi-writer checkpoint into. */
export function partsTarget(worldSize) {
  const model = Object.fromEntries(Array.from({ length: worldSize }, (_, r) => [`r${r}.w`, tf.tidy(() => tf.variable(tf.zeros([16, 16])))]));
  return { model, tf, dispose() { for (const v of Object.values(model)) v.dispose(); } };
}

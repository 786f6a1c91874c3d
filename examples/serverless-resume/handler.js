// A serverless training function: resume from the newest good checkpoint (or
// start), train until the time budget runs out, commit a checkpoint
// atomically, return. Many short invocations give the same losses as one
// long run: everything that decides the next step is in the checkpoint.
// The same file runs in Node, Deno, Bun, browsers and a Worker (worker.js); `root` is any checkpoint root —
// s3://bucket/prefix or an S3Store where functions have no disk.
import { saveCheckpoint, resumeTraining } from '../../dist/index.js';
import { TinyLM, TINY_LM_DEFAULTS, TrainLoop, CORPUS, charVocab, encode } from '../../dist/demo/index.js';

export const BATCH = { batchSize: 8, seqLen: 32, seed: 11 };

/**
 * @param tf      the caller's TensorFlow.js namespace (a peer dependency)
 * @param root    checkpoint root: `s3://bucket/prefix`, an S3Store, a folder, `opfs:name`, `idb:name`, a Store
 * @param budgetMs  wall-clock budget for training (the save comes after it)
 * @param maxSteps  stop early at this step (tests use it instead of a clock)
 */
export async function handler({ tf, root, budgetMs = 10_000, maxSteps = Infinity, logger }) {
  const vocab = charVocab(CORPUS), tokens = encode(CORPUS, vocab);
  const model = TinyLM.create(tf, { ...TINY_LM_DEFAULTS, vocab_size: vocab.length });
  const optimizer = tf.train.adam(0.01);
  try {
    const r = await resumeTraining(root, { model, optimizer, logger })
      .catch((e) => (e.detail === 'NO_CHECKPOINT' ? null : Promise.reject(e)));
    const loop = new TrainLoop(model, optimizer, { tokens, ...BATCH, cursor: r?.dataCursor, step: r?.step ?? 0 });
    const deadline = Date.now() + budgetMs;
    const losses = {};
    while (Date.now() < deadline && loop.step < maxSteps) loop.run(1, (s, l) => { losses[s] = l; });
    if (Object.keys(losses).length === 0) return { step: loop.step, resumedFrom: r?.step ?? 0, losses, skipped: r?.skipped ?? [] };
    const saved = await saveCheckpoint(root, {
      model, optimizer, step: loop.step, vocab, config: BATCH, dataCursor: loop.sampler.state(),
      metrics: { loss: losses[loop.step] }, metadata: r?.metadata ?? { model_name: 'tiny-alice' }, lineage: r?.lineage,
    }, { retention: { keepLast: 3, keepBest: { k: 1, metric: 'loss' } }, logger });
    // The committed files' SHA-256: two runs that trained the same steps from the same start write the same bytes.
    const sha256 = Object.fromEntries(['model.safetensors', 'optimizer.safetensors'].map((f) => [f, saved.files[f].sha256]));
    return { step: saved.step, checkpoint: saved.name, resumedFrom: r?.step ?? 0, losses, sha256, skipped: r?.skipped ?? [] };
  } finally {
    model.dispose();
    optimizer.dispose();
  }
}

// Sharded training of the tiny LM for the multi-writer checkpoint tests: the
// model's variables dealt to `worldSize` ranks (variable i to rank i mod N),
// each rank with its own Adam over its shard (as FSDP/ZeRO shard optimizer
// state); one step computes the gradients once and every rank applies its
// own. Each rank saves its shard — { model: its variables, optimizer: its
// Adam } — as its part of one checkpoint.
import { TinyLM, TextSampler } from '../dist/demo/index.js';
import { namedVariables } from '../dist/index.js';
import { tf, BATCH, TOKENS, TEST_CONFIG } from './_tiny.js';

export function shardedRun(worldSize, prefix, cursor) {
  const model = TinyLM.create(tf, TEST_CONFIG, { prefix });
  const vars = namedVariables(model);
  const shards = Array.from({ length: worldSize }, (_, r) => Object.fromEntries(vars.filter((_, i) => i % worldSize === r).map((v) => [v.name, v.variable])));
  const opts = shards.map(() => tf.train.adam(0.01));
  const sampler = new TextSampler(TOKENS, BATCH.batchSize, BATCH.seqLen, cursor ?? { seed: BATCH.seed });
  let step = 0;
  const metadata = { model_name: 'tiny-sharded', architecture_type: model.architecture_type };
  return {
    model, shards, opts, sampler, metadata,
    get step() { return step; },
    set step(s) { step = s; },
    /** One step; its loss (float32). */
    train() {
      const b = sampler.next();
      const x = tf.tensor2d(b.x, [b.batchSize, b.seqLen], 'int32'), y = tf.tensor2d(b.y, [b.batchSize, b.seqLen], 'int32');
      step++;
      const { value, grads } = tf.variableGrads(() => model.loss(x, y, { training: true, step }), model.trainableVariables());
      shards.forEach((shard, r) => opts[r].applyGradients(Object.fromEntries(Object.values(shard).map((v) => [v.name, grads[v.name]]))));
      const loss = value.dataSync()[0];
      tf.dispose([x, y, value, ...Object.values(grads)]);
      return loss;
    },
    /** What rank r saves. */
    state(r) {
      return { model: shards[r], optimizer: opts[r], step, dataCursor: sampler.state(), metadata, config: { rank: r } };
    },
    dispose() { model.dispose(); for (const o of opts) o.dispose(); },
  };
}

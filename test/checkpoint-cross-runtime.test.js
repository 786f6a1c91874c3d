// Across runtimes: a checkpoint written by NODE (test/fixtures/checkpoint/adam-node, made by
// test/_make-checkpoint-fixture.js) is resumed here — in Node, Deno or Chromium (over HTTP from the
// page server) — and the next 20 losses and the final weights are compared, bit for bit, with the
// ones Node recorded for the uninterrupted run. The first 20 steps, trained here from scratch, are
// compared too: the WASM backend computes the same float32 bits in all three runtimes.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadCheckpoint } from '../dist/index.js';
import { TinyLM, TrainLoop } from '../dist/demo/index.js';
import { isBrowser, readRepoJson, runtime } from './_env.js';
import { tf, ready, OPTIMIZERS, TEST_CONFIG, TOKENS, BATCH, bits, disposeOptimizer } from './_tiny.js';
import { weightsDigest } from './_ckpt-job.js';

await ready;
const FIX = 'test/fixtures/checkpoint/adam-node';
const expected = await readRepoJson(`${FIX}/expected.json`);
const source = isBrowser ? `${location.origin}/${FIX}/step-00000020` : new URL(`../${FIX}/step-00000020`, import.meta.url).pathname;

const X = suite(`cross-runtime: Node's checkpoint resumed in ${runtime}`);

X('steps 21–40 after resuming from the Node checkpoint are bit-identical to Node\'s uninterrupted run', async () => {
  const model = TinyLM.create(tf, TEST_CONFIG, { prefix: 'xrt/' });
  const opt = OPTIMIZERS.adam();
  const loaded = await loadCheckpoint(source, { model, optimizer: opt });
  assert.is(loaded.step, 20);
  const loop = new TrainLoop(model, opt, { tokens: TOKENS, ...BATCH, cursor: loaded.dataCursor, step: 20 });
  const losses = loop.run(20);
  const digest = weightsDigest(model);
  model.dispose();
  disposeOptimizer(opt);
  assert.equal(bits(losses), expected.loss_bits.slice(20));
  assert.is(digest, expected.final_weights_sha256);
});

X('steps 1–20 trained here from scratch are bit-identical to Node\'s', () => {
  const model = TinyLM.create(tf, TEST_CONFIG, { prefix: 'xrt2/' });
  const opt = OPTIMIZERS.adam();
  const losses = new TrainLoop(model, opt, { tokens: TOKENS, ...BATCH }).run(20);
  model.dispose();
  disposeOptimizer(opt);
  assert.equal(bits(losses), expected.loss_bits.slice(0, 20));
});

X.run();

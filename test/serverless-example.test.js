// examples/serverless-resume: several short invocations of the handler give the
// same losses, bit for bit, as one long one.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { handler } from '../examples/serverless-resume/handler.js';
import { tf, ready, bits } from './_tiny.js';
import { freshRoot } from './_ckpt-env.js';

await ready;
const S = suite('serverless-resume example');

S('invocations ending at steps 3, 7 and 10 reproduce one run of 10 steps', async () => {
  const one = await handler({ tf, root: await freshRoot('sl'), budgetMs: 1e9, maxSteps: 10 });
  const root = await freshRoot('sl');
  const losses = {};
  for (const stop of [3, 7, 10]) {
    const r = await handler({ tf, root, budgetMs: 1e9, maxSteps: stop });
    assert.is(r.step, stop);
    Object.assign(losses, r.losses);
  }
  const steps = Array.from({ length: 10 }, (_, i) => i + 1);
  assert.equal(bits(steps.map((s) => losses[s])), bits(steps.map((s) => one.losses[s])));
});

S.run();

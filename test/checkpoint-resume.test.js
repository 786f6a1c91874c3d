// Exact resume: train the tiny LM on the bundled text for 40 steps; separately
// train to a checkpoint, load it in a FRESH process (Chromium: a fresh module
// Worker), train on: every loss and the final weights are bit-identical to the
// uninterrupted run. For every optimizer offered, at awkward steps (13, 25).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { OPTIMIZERS, bits } from './_tiny.js';
import { freshRoot } from './_ckpt-env.js';
import { freshJob } from './_fresh.js';
import { runJob } from './_ckpt-job.js';

const range = (a, b) => Array.from({ length: b - a + 1 }, (_, i) => a + i);
const lossesOf = (r, from, to) => range(from, to).map((s) => r.losses[s]);

const Exact = suite('exact resume in a fresh process');

Exact('adam: 40 uninterrupted = 20, save, fresh process, 20 more (every loss, final weights)', async () => {
  const root = await freshRoot('exact');
  const [ref, first] = await Promise.all([
    freshJob({ op: 'train', root: await freshRoot('unused'), until: 40 }),
    freshJob({ op: 'train', root, until: 20, saveAt: [20] }),
  ]);
  const resumed = await freshJob({ op: 'resume', root, until: 40 });
  assert.is(resumed.from, 20);
  assert.equal(bits(lossesOf(first, 1, 20)), bits(lossesOf(ref, 1, 20)), 'the first half (saving did not disturb it)');
  assert.equal(bits(lossesOf(resumed, 21, 40)), bits(lossesOf(ref, 21, 40)), 'the resumed half');
  assert.is(resumed.digest, ref.digest, 'final weights');
  assert.ok(ref.losses[40] < ref.losses[1], `it learns: ${ref.losses[1]} → ${ref.losses[40]}`);
});

// Each optimizer's reference runs here, in the test's realm, saving at 13 and 25; the two resumes
// run in fresh processes (Workers) while the next optimizer's reference trains: both cores busy.
const UNTIL = 32;
let pipelines;
/** Starts every optimizer's pipeline once, when the first of their tests runs (not at import: other files run first). */
function start() {
  if (pipelines) return pipelines;
  pipelines = {};
  let chain = Promise.resolve();
  for (const name of Object.keys(OPTIMIZERS)) {
    const refDone = (chain = chain.then(async () => {
      const at13 = await freshRoot(`${name}-13`), at25 = await freshRoot(`${name}-25`);
      const ref = await runJob({ op: 'train', optimizer: name, until: UNTIL, saveTo: { 13: at13, 25: at25 } });
      return { ref, at13, at25 };
    }));
    pipelines[name] = refDone.then(async ({ ref, at13, at25 }) => {
      const [r13, r25] = await Promise.all([
        freshJob({ op: 'resume', optimizer: name, root: at13, until: UNTIL }),
        freshJob({ op: 'resume', optimizer: name, root: at25, until: UNTIL }),
      ]);
      return { ref, r13, r25 };
    });
    pipelines[name].catch(() => {}); // reported by the test that awaits it
  }
  return pipelines;
}

for (const name of Object.keys(OPTIMIZERS)) {
  Exact(`${name}: resumed at steps 13 and 25 in fresh processes, bit-identical to ${UNTIL} uninterrupted`, async () => {
    const { ref, r13, r25 } = await start()[name];
    assert.is(r13.from, 13);
    assert.is(r25.from, 25);
    assert.ok(lossesOf(ref, 1, UNTIL).every(Number.isFinite), `finite losses: ${lossesOf(ref, 1, UNTIL)}`);
    assert.equal(bits(lossesOf(r13, 14, UNTIL)), bits(lossesOf(ref, 14, UNTIL)));
    assert.equal(bits(lossesOf(r25, 26, UNTIL)), bits(lossesOf(ref, 26, UNTIL)));
    assert.is(r13.digest, ref.digest);
    assert.is(r25.digest, ref.digest);
  });
}

Exact.run();

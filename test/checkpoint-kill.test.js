// Reliability: a training process that checkpoints after EVERY step is
// killed with SIGKILL at a random moment, RUNS times (in parallel batches).
// After each kill: whatever LATEST names loads and verifies (never torn), and
// resuming from it reproduces the uninterrupted run's next losses bit for
// bit. A browser cannot SIGKILL a process, so this suite runs in Node and Deno.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadCheckpoint, listCheckpoints } from '../dist/index.js';
import { isBrowser, rng } from './_env.js';
import { bits } from './_tiny.js';
import { freshRoot, listNames } from './_ckpt-env.js';
import { runJob } from './_ckpt-job.js';
import { spawnJob } from './_fresh.js';

const RUNS_SYNC = 52;
const PARALLEL = 4;
const REF_STEPS = 40;
const CHECK_STEPS = 3;

const Kill = suite('SIGKILL during save: LATEST is never torn, and resume is still exact');

/** Asynchronous saves (training goes on while each commits) are killed too; fewer runs, same checks. */
const ASYNC_RUNS = 8;

if (!isBrowser) {
  for (const [mode, RUNS] of [['sync', RUNS_SYNC], ['async', ASYNC_RUNS]]) Kill(`${RUNS} runs killed at random points (${mode} saves): every LATEST loads, resume reproduces the uninterrupted losses`, async () => {
    const ref = await runJob({ op: 'train', until: REF_STEPS });
    const next = rng(mode === 'sync' ? 20261129 : 20261206);
    const outcomes = [];
    const one = async (i) => {
      const root = await freshRoot('kill');
      // Kill a few milliseconds after a random step completes: inside the next step or its save, whatever the load.
      const after = 1 + Math.floor(next() * 8), delay = Math.floor(next() * 40);
      await spawnJob({ op: 'loop-save', root, until: REF_STEPS - CHECK_STEPS, async: mode === 'async' }, null, (step, child) => {
        if (step === after) setTimeout(() => child.kill('SIGKILL'), delay);
      });
      const names = await listNames(root);
      const leftovers = names.filter((n) => n.includes('.tmp-')).length;
      if (!names.includes('LATEST')) {
        outcomes.push({ i, after, step: 0, leftovers });
        return;
      }
      const loaded = await loadCheckpoint(root); // verifies every byte against the manifest
      const listed = await listCheckpoints(root);
      assert.ok(listed.find((c) => c.latest)?.name === loaded.name, 'LATEST names a listed checkpoint');
      const resumed = await runJob({ op: 'resume', root, until: loaded.step + CHECK_STEPS, prefix: `kill${i}/` });
      assert.is(resumed.from, loaded.step);
      const got = Object.keys(resumed.losses).map(Number).sort((a, b) => a - b);
      assert.equal(bits(got.map((s) => resumed.losses[s])), bits(got.map((s) => ref.losses[s])), `run ${i}: resumed from step ${loaded.step}`);
      outcomes.push({ i, after, step: loaded.step, leftovers });
    };
    for (let i = 0; i < RUNS; i += PARALLEL) await Promise.all(Array.from({ length: Math.min(PARALLEL, RUNS - i) }, (_, k) => one(i + k)));
    assert.is(outcomes.length, RUNS);
    const resumedRuns = outcomes.filter((o) => o.step > 0);
    const steps = new Set(resumedRuns.map((o) => o.step));
    // The kills must land at many different points, some of them inside a save (its temporary folder left behind).
    assert.is(resumedRuns.length, RUNS, 'every run had committed its first checkpoint before the kill');
    assert.ok(steps.size >= 4, `kills landed after ${steps.size} different steps: ${[...steps].sort((a, b) => a - b)}`);
    assert.ok(outcomes.some((o) => o.leftovers > 0), 'at least one kill interrupted a save (temporary folder left)');
    console.log(`  kill test (${mode}): ${RUNS} runs, ${resumedRuns.length} resumed (steps ${Math.min(...steps)}–${Math.max(...steps)}), ${outcomes.filter((o) => o.leftovers).length} interrupted mid-save`);
  });
}

Kill.run();

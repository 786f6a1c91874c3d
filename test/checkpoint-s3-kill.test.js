// The kill campaign on S3, sampled (the ≥ 100 kills: `npm run soak kill:s3`): checkpoint writers SIGKILLed at
// random times while saving to Ceph RGW (test/run.js, SAFECKPT_TEST_S3_*) — one writer, and three writers of one
// checkpoint each killed at its own random time; the writers run in Node, Deno and Bun in turn, and one run's
// model is large enough for multipart uploads. After the kills: LATEST loads, every listed checkpoint verifies
// (all parts), nothing uncommitted is listed, nothing confirmed is lost, resume lands on LATEST
// (test/_s3-kill-campaign.js says exactly what is checked).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runtime, s3TestOptions } from './_env.js';

const K = suite('SIGKILLed S3 writers: nothing torn, nothing half-committed, LATEST loads');

if (runtime === 'node') {
  const { s3Kills, s3KillSummary, saverRuntimes } = await import('./_s3-kill-campaign.js');
  const day = Math.floor(Date.now() / 86_400_000);
  // Writers in Node, Deno and Bun in turn (where installed); one single-writer run saves in multipart uploads.
  const runtimes = await saverRuntimes();
  for (const [mode, count] of [['single', 4], ['multi', 2]]) {
    K(`${mode === 'single' ? 'one writer' : 'three writers of one checkpoint'} (${runtimes.join(', ')}): ${count} runs killed at random times (seed ${day})`, async () => {
      const t = await s3Kills({ mode, count, seed: day, parallel: 2, s3Options: () => s3TestOptions(), runtimes, multipartEvery: mode === 'single' ? 4 : 0 });
      assert.is(t.failures.length, 0, `${s3KillSummary(t)}; first: ${JSON.stringify(t.failures[0])?.slice(0, 1500)}`);
      assert.ok(t.processesKilled >= count);
      for (const r of runtimes) assert.ok(t.byRuntime[r] > 0, `a writer in ${r} was killed: ${s3KillSummary(t)}`);
      if (mode === 'single') assert.is(t.multipartRuns, 1);
      console.log(`  S3 kill sample: ${s3KillSummary(t)}`);
    });
  }
}

K.run();

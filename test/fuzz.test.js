// A sample of every fuzzing campaign (test/_fuzz.js) in every runtime: each
// parser of untrusted input, fed mutated valid files and hostile built ones,
// gives only values or typed CheckpointErrors, each within the time bound.
// `npm run soak` runs the full count (≥ 100,000 inputs per parser).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CAMPAIGNS, runCampaign } from './_fuzz.js';
import { runtime } from './_env.js';

/** Inputs per campaign in the suite: enough to reach every generator branch, small enough for a loaded CI machine. */
const SAMPLE = 400;
const SEED = 0x5afe + 11;

const F = suite(`fuzz campaigns, a sample (${runtime})`);
for (const name of Object.keys(CAMPAIGNS)) {
  F(`${name}: ${SAMPLE} generated inputs, only values or typed errors`, async () => {
    const r = await runCampaign(name, { runs: SAMPLE, seed: SEED, timeBoundMs: 60_000 });
    assert.is(r.runs, SAMPLE);
    if (name === 'registry') {
      // A damaged registry is reported and rebuilt, never an error: every input gives a registry.
      assert.is(r.ok, SAMPLE, JSON.stringify(r));
    } else {
      // Both outcomes occur: the generators reach valid inputs and hostile ones.
      assert.ok(Object.keys(r.errors).length > 0 && r.ok > 0, `${name}: ${JSON.stringify(r)}`);
    }
  });
}
F.run();

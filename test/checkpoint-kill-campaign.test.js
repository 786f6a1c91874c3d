// The kill campaign, sampled (the full count: `npm run soak kill`):
// checkpoint saves SIGKILLed before store operations and half-way through
// writes of every save path — a fresh step, a signed one, a re-save of an older
// step and of the one LATEST names, retention's deletions, a fine-tuning
// resume's registry update — and at random times, in a child of this runtime
// (and of Bun, from Node, when node_modules/.bin/bun runs it). After every
// kill: 0 torn, 0 lost, 0 leftovers after resume, registry complete after the
// next save (test/_kill-campaign.js says exactly what each means). A browser
// cannot SIGKILL itself: checkpoint-crash.test.js covers its stores in-process.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runtime, isBrowser } from './_env.js';

const Campaign = suite('SIGKILL at every store operation of every save path: nothing torn, nothing lost');

/** Every STRIDE-th kill point of each path (from an offset that changes daily, printed), and RANDOM random-time kills. */
const STRIDE = 12, RANDOM = 6;

function summary(t) {
  return `${t.kills} kills: ${t.torn} torn, ${t.lost} lost, ${t.leftover} with leftovers, ${t.registry} with registry gaps, ${t.notKilled} not killed`;
}

function assertClean(t, what) {
  const first = t.failures[0];
  assert.ok(t.kills > 0, `${what}: no kill happened`);
  assert.is(t.failures.length, 0, `${what}: ${summary(t)}; first: ${JSON.stringify(first)?.slice(0, 1500)}`);
}

if (!isBrowser) {
  const { deterministicKills, randomKills, makeTemplate, childCommand } = await import('./_kill-campaign.js');
  const offset = Math.floor(Date.now() / 86_400_000) % STRIDE;
  const children = [runtime, ...(runtime === 'node' && (await childCommand('bun')) ? ['bun'] : [])];
  for (const child of children) {
    Campaign(`${child} children: every ${STRIDE}th kill point of each save path (offset ${offset}), and ${RANDOM} kills at random times`, async () => {
      const template = await makeTemplate();
      const d = await deterministicKills(child, { sample: STRIDE, offset, template });
      assertClean(d, `${child} deterministic`);
      const r = await randomKills(child, { count: RANDOM, seed: 1000 + offset, template, maxDelayMs: 4000 });
      assertClean(r, `${child} random`);
      console.log(`  kill campaign sample (${child}): ${summary(d)} at deterministic points; ${summary(r)} at random times`);
    });
  }
}

Campaign.run();

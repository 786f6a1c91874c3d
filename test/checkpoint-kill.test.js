// Reliability: a training process that checkpoints after EVERY step is
// killed with SIGKILL, in parallel batches, and after each kill whatever
// LATEST names loads and verifies (never torn), and resuming from it
// reproduces the uninterrupted run's next losses bit for bit. Two kinds of
// kill, each checked the same way:
//  - at chosen points: the child SIGKILLs itself before one store operation of
//    one save, or half-way through one write (test/_fault-store.js), at every
//    such point of a save (sync) or a spread of them (async). The store's
//    operations are the same whatever the load, so which step LATEST names and
//    which temporary names are left are known exactly from a traced run: a
//    commit order that ever lets LATEST name an unfinished folder, or loses a
//    committed step, fails here on any machine;
//  - at random times: a few milliseconds after a random reported step, so the
//    kill also lands inside training, tensor capture and writes, wherever the
//    machine's load puts it. Nothing about these runs' timing is asserted.
// A browser cannot SIGKILL a process, so this suite runs in Node and Deno.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadCheckpoint, listCheckpoints } from '../dist/index.js';
import { isBrowser, rng } from './_env.js';
import { bits } from './_tiny.js';
import { freshRoot, listNames } from './_ckpt-env.js';
import { runJob } from './_ckpt-job.js';
import { spawnJob } from './_fresh.js';

const PARALLEL = 4;
const REF_STEPS = 40;
const CHECK_STEPS = 3;
/** The save whose kill points are chosen (saves 1 and 2 committed before it, so LATEST exists and resume has a previous step). */
const TARGET_SAVE = 3;
/** Random-time kills per mode, and which of the target save's kill points are used: every one (sync), every third (async: still no gap of 3 in a row). */
const MODES = { sync: { random: 8, seed: 20261129, sample: 1 }, async: { random: 8, seed: 20261206, sample: 3 } };

const Kill = suite('SIGKILL during save: LATEST is never torn, and resume is still exact');

async function removeRoot(root) {
  const { rm } = await import('node:fs/promises');
  await rm(root, { recursive: true, force: true });
}

/** Every store operation of an uninterrupted loop-save run of `saves` steps: [op, key, size][]. */
async function traceSaves(async, saves) {
  const root = await freshRoot('kill-trace');
  try {
    const r = await spawnJob({ op: 'loop-save', root, until: saves, async, die: { trace: true } });
    const line = r.out.split('\n').find((l) => l.startsWith('TRACE '));
    assert.ok(line, `the traced run printed no trace (exit ${r.code} ${r.signal}): ${r.err}`);
    return JSON.parse(line.slice(6));
  } finally {
    await removeRoot(root);
  }
}

/**
 * What a kill at `point` leaves, read off the trace: the step LATEST names (the k-th rename onto LATEST commits
 * step k) and the temporary names at the root (written, not yet renamed away; a half-way write leaves its name).
 */
function expectedAfter(trace, { at, mid }) {
  let step = 0;
  const temps = new Set();
  trace.forEach(([op, key], i) => {
    if (i > at || (i === at && !mid)) return;
    const top = key.split('/')[0];
    if (op === 'write' && top.includes('.tmp-')) temps.add(top);
    if (op === 'rename' && !key.includes('/')) {
      temps.delete(key);
      if (key.startsWith('LATEST.tmp-')) step++;
    }
  });
  return { step, temps: temps.size };
}

/** Every kill point of save `n` (1-based): before each of its store operations, and half-way through each write. */
function pointsOfSave(trace, n) {
  const ends = trace.flatMap(([op], i) => (op === 'unlock' ? [i] : []));
  const from = n === 1 ? 0 : ends[n - 2] + 1, to = ends[n - 1];
  const points = [];
  for (let i = from; i <= to; i++) {
    const [op, key, size] = trace[i];
    points.push({ at: i, mid: false, op, key });
    if (op === 'write' && size > 0) points.push({ at: i, mid: true, op, key });
  }
  return points;
}

/** Loads LATEST of a killed run's root, resumes from it and compares the losses; returns the loaded step and the root's temporary names. */
async function checkKilled(root, ref, label) {
  const names = await listNames(root);
  const temps = names.filter((n) => n.includes('.tmp-')).length;
  assert.ok(names.includes('LATEST'), `${label}: no LATEST (${names.join(' ')})`);
  // Verifies every byte against the manifest.
  const loaded = await loadCheckpoint(root).catch((e) => assert.unreachable(`${label}: LATEST does not load (${names.join(' ')}): ${e.code} ${e.message}`));
  const listed = await listCheckpoints(root);
  assert.ok(listed.find((c) => c.latest)?.name === loaded.name, `${label}: LATEST names a listed checkpoint`);
  const resumed = await runJob({ op: 'resume', root, until: loaded.step + CHECK_STEPS, prefix: `${label.replace(/\W+/g, '-')}/` });
  assert.is(resumed.from, loaded.step);
  const got = Object.keys(resumed.losses).map(Number).sort((a, b) => a - b);
  assert.equal(bits(got.map((s) => resumed.losses[s])), bits(got.map((s) => ref.losses[s])), `${label}: resumed from step ${loaded.step}`);
  return { step: loaded.step, temps };
}

async function inBatches(jobs) {
  for (let i = 0; i < jobs.length; i += PARALLEL) await Promise.all(jobs.slice(i, i + PARALLEL).map((j) => j()));
}

if (!isBrowser) {
  for (const [mode, { random, seed, sample }] of Object.entries(MODES)) {
    const async = mode === 'async';
    const trace = await traceSaves(async, TARGET_SAVE + 1);
    const chosen = pointsOfSave(trace, TARGET_SAVE).filter((_, i) => i % sample === 0);
    Kill(`${mode} saves: killed before each of ${chosen.length} store operations of save ${TARGET_SAVE} (or half-way through a write): LATEST is the last step committed, resume reproduces the uninterrupted losses`, async () => {
      const ref = await runJob({ op: 'train', until: REF_STEPS });
      const seen = [];
      await inBatches(chosen.map((p) => async () => {
        const label = `${mode} kill at ${p.at}${p.mid ? ' half-way' : ''} (${p.op} ${p.key})`;
        const want = expectedAfter(trace, p);
        const root = await freshRoot('kill');
        try {
          const r = await spawnJob({ op: 'loop-save', root, until: REF_STEPS - CHECK_STEPS, async, die: { at: p.at, mid: p.mid } });
          assert.is(r.signal, 'SIGKILL', `${label}: the child was not killed (exit ${r.code})`);
          const got = await checkKilled(root, ref, label);
          assert.is(got.step, want.step, `${label}: LATEST names step ${got.step}, the last committed was ${want.step}`);
          assert.is(got.temps, want.temps, `${label}: ${got.temps} temporary names left, expected ${want.temps}`);
          seen.push(want);
        } finally {
          await removeRoot(root);
        }
      }));
      assert.is(seen.length, chosen.length);
      // What the chosen points cover (a property of the trace, not of timing): kills before and after the commit, inside the save's folder.
      assert.equal([...new Set(seen.map((s) => s.step))].sort(), [TARGET_SAVE - 1, TARGET_SAVE], 'kills before and after LATEST moved');
      assert.ok(seen.some((s) => s.temps > 0), 'kills inside the save (its temporary folder left)');
    });

    Kill(`${mode} saves: ${random} runs killed at random times: every LATEST loads, resume reproduces the uninterrupted losses`, async () => {
      const ref = await runJob({ op: 'train', until: REF_STEPS });
      const next = rng(seed);
      const steps = [];
      await inBatches(Array.from({ length: random }, (_, i) => async () => {
        // Kill a few milliseconds after a random step completes: inside the next step or its save, wherever the load puts it.
        const after = 1 + Math.floor(next() * 8), delay = Math.floor(next() * 40);
        const label = `${mode} run ${i} (killed ${delay} ms after step ${after})`;
        const root = await freshRoot('kill');
        try {
          const r = await spawnJob({ op: 'loop-save', root, until: REF_STEPS - CHECK_STEPS, async }, null, (step, child) => {
            if (step === after) setTimeout(() => child.kill('SIGKILL'), delay);
          });
          // The first checkpoint commits before step 1 is reported, so every run has a LATEST; exit 0 means it finished first.
          const got = await checkKilled(root, ref, label);
          if (r.signal === null) assert.is(got.step, REF_STEPS - CHECK_STEPS, `${label}: finished, yet LATEST is step ${got.step}`);
          else assert.ok(got.step >= after - 1, `${label}: LATEST is step ${got.step}, but step ${after - 1} had committed before step ${after} was reported`);
          steps.push(got.step);
        } finally {
          await removeRoot(root);
        }
      }));
      assert.is(steps.length, random);
      console.log(`  kill test (${mode}, random times): ${random} runs resumed from steps ${[...new Set(steps)].sort((a, b) => a - b)}`);
    });
  }
}

Kill.run();

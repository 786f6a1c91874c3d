// The kill campaign on S3 (Ceph RGW): checkpoint writers SIGKILLed at random times while they save to an
// object store, where nothing is renamed and a save commits by a conditional PUT of LATEST.
//  - single: one writer saving fresh steps, some with retention (keep the last 2);
//  - multi: `worldSize` writers (processes), each saving its rank's part of every step, each killed at its own
//    random time (so one rank dies first and the others die waiting, or mid-commit).
// After the kills, from outside: LATEST loads and names a committed checkpoint (the last one confirmed, or one in
// flight); every listed checkpoint verifies (every byte of every part: nothing torn, nothing half-committed);
// nothing is listed that no writer had begun; every checkpoint confirmed committed is still listed (unless
// retention in flight may have removed it); resume lands on what LATEST names with nothing skipped; and (single)
// the next save commits on top. Used by checkpoint-s3-kill.test.js (a sample) and `npm run soak kill:s3`.
import { S3Store, saveCheckpoint, loadCheckpoint, listCheckpoints, resumeTraining } from '../dist/index.js';
import { ready } from './_tiny.js';
import { crashState, crashTarget, partState, partsTarget } from './_crash-state.js';
import { rng } from './_env.js';
import { spawnChild } from './_kill-campaign.js';

/** The saver under `runtime` ('node', 'deno' or 'bun': the repo's node_modules/.bin, as test/run.js runs them). */
async function childCommand(runtime = 'node') {
  const { fileURLToPath } = await import('node:url');
  const saver = fileURLToPath(new URL('./_s3-kill-saver.js', import.meta.url));
  if (runtime === 'node') return { runtime, cmd: process.execPath, args: [saver] };
  const bin = fileURLToPath(new URL(`../node_modules/.bin/${runtime}`, import.meta.url));
  return { runtime, cmd: bin, args: runtime === 'deno' ? ['run', '-A', '--quiet', saver] : [saver] };
}

/** Which of `runtimes` can run the saver here (their binary exists). */
export async function saverRuntimes(runtimes = ['node', 'deno', 'bun']) {
  const { existsSync } = await import('node:fs');
  const out = [];
  for (const r of runtimes) if (r === 'node' || existsSync((await childCommand(r)).cmd)) out.push(r);
  return out;
}

const isKilled = (r) => r.signal === 'SIGKILL' || r.code === 137;

async function template(store, mode, worldSize, rows) {
  if (mode === 'single') {
    for (const step of [1, 2, 3]) {
      const s = crashState(step, step * 10, undefined, rows);
      try { await saveCheckpoint({ store, key: '' }, s.state); } finally { s.dispose(); }
    }
    return 3;
  }
  for (const step of [1, 2]) {
    await Promise.all(Array.from({ length: worldSize }, async (_, rank) => {
      const s = partState(step, step * 10 + rank, rank);
      try { await saveCheckpoint({ store, key: '' }, s.state, { rank, worldSize, checkpointId: `kill-${step}` }); } finally { s.dispose(); }
    }));
  }
  return 2;
}

/** Problems found in the root after the kills: [{ kind: 'torn' | 'lost' | 'phantom', message }]. */
async function checkRoot(store, { mode, worldSize, committed, begun, removable, rows }) {
  const problems = [];
  const problem = (kind, message) => problems.push({ kind, message });
  const root = { store, key: '' };
  const last = Math.max(...committed.keys());
  let latest;
  try {
    latest = await loadCheckpoint(root);
    if (!(latest.step === last || (begun.has(latest.step) && latest.step > last))) problem('lost', `LATEST loads step ${latest.step}; the last confirmed is ${last}, in flight ${[...begun].join(',')}`);
  } catch (e) {
    problem('torn', `LATEST does not load: ${e.code} ${e.message}`);
  }
  const listed = await listCheckpoints(root);
  for (const c of listed) {
    if (c.problem) { problem('torn', `${c.name}: ${c.problem}`); continue; }
    if (!committed.has(c.step) && !begun.has(c.step)) problem('phantom', `${c.name} is listed, but no writer began step ${c.step}`);
    // A step not confirmed was committed only if its PUT of LATEST went through, and nothing came after it.
    else if (!committed.has(c.step) && c.step !== latest?.step) problem('phantom', `${c.name} is listed, but was never committed (LATEST names step ${latest?.step})`);
    if (mode === 'multi' && (c.files['rank-00000-of-0000' + worldSize + '/part.json'] === undefined || Object.keys(c.files).filter((f) => f.endsWith('/part.json')).length !== worldSize)) {
      problem('torn', `${c.name} is listed without all ${worldSize} parts`);
    }
    await loadCheckpoint({ store, key: c.name }).catch((e) => problem('torn', `${c.name} does not verify: ${e.code} ${e.message}`));
  }
  const steps = new Set(listed.map((c) => c.step));
  for (const s of committed.keys()) if (!steps.has(s) && !removable(s)) problem('lost', `step ${s} was confirmed committed and is not listed`);
  const t = mode === 'single' ? crashTarget(rows) : partsTarget(worldSize);
  try {
    const r = await resumeTraining(root, { model: t.model, ...(mode === 'single' ? { optimizer: t.optimizer } : {}), tf: t.tf });
    if (latest && r.step !== latest.step) problem('lost', `resume loads step ${r.step}, LATEST named ${latest.step}`);
    if (r.skipped.length) problem('torn', `resume skipped ${JSON.stringify(r.skipped)}`);
  } catch (e) {
    problem('lost', `resume failed: ${e.code} ${e.message}`);
  } finally {
    t.dispose();
  }
  if (mode === 'single') {
    const s = crashState(999, 9990, undefined, rows);
    try {
      await saveCheckpoint(root, s.state);
      if ((await loadCheckpoint(root)).step !== 999) problem('lost', 'the next save did not become LATEST');
    } catch (e) {
      problem('lost', `the next save failed: ${e.code} ${e.message}`);
    } finally {
      s.dispose();
    }
  }
  return problems;
}

/** Runs `jobs` `parallel` at a time. */
async function pool(jobs, parallel) {
  const out = [];
  let next = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < jobs.length) {
      const i = next++;
      out[i] = await jobs[i]();
    }
  }));
  return out;
}

/**
 * `count` random-time kills of `mode` writers; `s3Options()` gives options with a fresh prefix. Resolves to
 * { mode, runs, processesKilled, torn, lost, phantom, notKilled, failures }.
 */
export async function s3Kills({ mode, count, seed = 1, parallel = 3, maxDelayMs = 4000, worldSize = 3, s3Options, onResult, runtimes = ['node'], multipartEvery = 0 }) {
  await ready;
  const commands = await Promise.all(runtimes.map((r) => childCommand(r)));
  const next = rng(seed);
  const jobs = Array.from({ length: count }, (_, job) => {
    const delays = Array.from({ length: mode === 'single' ? 1 : worldSize }, () => Math.floor(next() * maxDelayMs));
    const childSeed = Math.floor(next() * 2 ** 31);
    // Writers take turns across the runtimes (several writers of one checkpoint: each rank in the next one).
    const rankCommands = delays.map((_, i) => commands[(job + i) % commands.length]);
    // Every multipartEvery-th single-writer run saves a 6 MiB model (+ 12 MiB of slots) in 5 MiB parts: multipart uploads killed too.
    const multipart = mode === 'single' && multipartEvery > 0 && job % multipartEvery === multipartEvery - 1;
    const rows = multipart ? 65536 : 24;
    // A slower save (and a runtime that starts slower) needs later kills to land inside it.
    const delayScale = multipart ? 3 : 1;
    return async () => {
      const o = { ...s3Options(), ...(multipart ? { partSize: 5 << 20 } : {}) };
      const store = new S3Store(o);
      try {
        const from = (await template(store, mode, worldSize, rows)) + 1;
        const committed = new Map(Array.from({ length: from - 1 }, (_, i) => [i + 1, true]));
        const begun = new Set();
        const removed = new Set();
        let retentionInFlight = false;
        const ranks = mode === 'single' ? [undefined] : Array.from({ length: worldSize }, (_, r) => r);
        const runs = await Promise.all(ranks.map((rank, i) => spawnChild(rankCommands[i], { s3: o, seed: childSeed + i, from, rank, worldSize: mode === 'multi' ? worldSize : undefined, rows }, (line, child) => {
          if (line === 'READY') setTimeout(() => child.kill('SIGKILL'), delays[i] * delayScale);
          else if (line.startsWith('BEGIN ')) { const b = JSON.parse(line.slice(6)); begun.add(b.step); if (b.retention) retentionInFlight = true; }
          else if (line.startsWith('COMMITTED ')) {
            const c = JSON.parse(line.slice(10));
            committed.set(c.step, true);
            retentionInFlight = false;
            for (const n of c.removed) removed.add(Number(/^step-(\d+)/.exec(n)[1]));
          }
        })));
        for (const s of removed) committed.delete(s);
        const killed = runs.every(isKilled);
        const problems = killed ? await checkRoot(store, { mode, worldSize, committed, begun, removable: () => retentionInFlight, rows }) : [];
        const result = {
          mode, delays, killed, processes: runs.filter(isKilled).length, problems, runtimes: rankCommands.map((c) => c.runtime), multipart,
          ...(killed ? {} : { err: runs.map((r) => r.err.slice(-1500)).join('\n') }),
        };
        onResult?.(result);
        return result;
      } finally {
        await store.remove('').catch(() => {});
        await store.abortUploads().catch(() => {});
      }
    };
  });
  const results = await pool(jobs, parallel);
  const t = { mode, runs: 0, processesKilled: 0, torn: 0, lost: 0, phantom: 0, notKilled: 0, failures: [], byRuntime: {}, multipartRuns: 0 };
  for (const r of results) {
    if (!r.killed) { t.notKilled++; t.failures.push(r); continue; }
    t.runs++;
    t.processesKilled += r.processes;
    for (const rt of r.runtimes) t.byRuntime[rt] = (t.byRuntime[rt] ?? 0) + 1;
    if (r.multipart) t.multipartRuns++;
    for (const k of new Set(r.problems.map((p) => p.kind))) t[k]++;
    if (r.problems.length) t.failures.push(r);
  }
  return t;
}

/** One line for an s3Kills result. */
export function s3KillSummary(t) {
  const by = Object.entries(t.byRuntime ?? {}).map(([r, n]) => `${r} ${n}`).join(', ');
  return `${t.processesKilled} SIGKILLs of ${t.mode === 'single' ? 'single-rank' : 'multi-rank'} S3 writers (${by}) in ${t.runs} runs${t.multipartRuns ? ` (${t.multipartRuns} with multipart uploads)` : ''}: ${t.torn} torn, ${t.lost} lost, ${t.phantom} phantom, ${t.notKilled} not killed`;
}

/**
 * `npm run soak kill:s3`: a Ceph RGW of its own (`startRgw` from scripts/rgw.js, passed in by scripts/soak.js so
 * that this file, which test files import, never reaches the RGW launcher's node: imports — a browser bundle
 * hoists those and the page never starts), then `single` runs of one writer and `multi` runs of three (each
 * process killed) — ≥ 100 SIGKILLs with the defaults. Throws when anything was torn, lost or listed uncommitted.
 */
export async function s3KillCampaign({ startRgw, single = 64, multi = 16, parallel = 3, seed = 20261206, log } = {}) {
  const rgw = await startRgw();
  try {
    const bucket = 'safeckpt-soak';
    const base = { bucket, endpoint: rgw.endpoint, region: rgw.region, credentials: { accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey } };
    await new S3Store(base).createBucket();
    let n = 0;
    const s3Options = () => ({ ...base, prefix: `kill-${Date.now().toString(36)}-${n++}` });
    const onResult = (r) => { if (r.problems.length || !r.killed) log?.(`s3 ${r.mode} FAILURE ${JSON.stringify(r).slice(0, 1500)}`); };
    const runtimes = await saverRuntimes();
    const a = await s3Kills({ mode: 'single', count: single, seed, parallel, s3Options, onResult, runtimes, multipartEvery: 8 });
    log?.(s3KillSummary(a));
    const b = await s3Kills({ mode: 'multi', count: multi, seed: seed + 1, parallel, s3Options, onResult, runtimes });
    log?.(s3KillSummary(b));
    const out = { single: a, multi: b, kills: a.processesKilled + b.processesKilled };
    if (a.failures.length || b.failures.length) {
      throw new Error(`${s3KillSummary(a)}; ${s3KillSummary(b)}; first failures:\n${[...a.failures, ...b.failures].slice(0, 5).map((f) => JSON.stringify(f).slice(0, 1500)).join('\n')}`);
    }
    return out;
  } finally {
    await rgw.stop();
  }
}

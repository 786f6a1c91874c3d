// The kill campaign: checkpoint saves SIGKILLed at every store operation of
// every save path, and at random times, in Node, Deno and Bun children
// (test/_kill-saver.js). After every kill, from outside the dead process:
//  - torn: a checkpoint folder listed (listCheckpoints) that does not verify
//    (every byte against its manifest), or a LATEST that does not load;
//  - lost: a checkpoint committed before the kill that is gone or changed
//    after resume's recovery (unless the killed save was replacing it, or its
//    retention had already run), or a resume that lands on anything but what
//    LATEST named (or the save in flight);
//  - leftovers: anything of the killed save that recovery did not remove;
//  - registry: after one more save, registry.json must list every checkpoint.
// Used by checkpoint-kill-campaign.test.js (a sample) and `npm run soak kill` (killCampaign: the full count).
import { saveCheckpoint, listCheckpoints, joinKey } from '../dist/internal.js';
import { crashState, resumeMarker, loadMarker } from './_crash-state.js';
import { ready } from './_tiny.js';
import { tempDir, rng } from './_env.js';

export const SCENARIOS = ['fresh', 'fresh-signed', 'resave', 'resave-latest', 'retention', 'finetune'];
/** What each path saves: [step, marker] (the template holds steps 1–3 with markers 1–3, LATEST → 3). */
const TARGET = { fresh: [4, 40], 'fresh-signed': [4, 41], resave: [2, 20], 'resave-latest': [3, 30], retention: [4, 42], finetune: [4, 43] };

const node = async () => ({
  fs: await import('node:fs/promises'),
  cp: await import('node:child_process'),
  url: await import('node:url'),
  path: await import('node:path'),
});

/** The command that runs a child script in `runtime` ('node' | 'deno' | 'bun'), or null when it cannot run here. */
export async function childCommand(runtime) {
  const { url, path, fs } = await node();
  const repo = path.resolve(path.dirname(url.fileURLToPath(import.meta.url)), '..');
  const script = path.join(repo, 'test', '_kill-saver.js');
  const current = globalThis.Deno ? 'deno' : globalThis.Bun ? 'bun' : 'node';
  if (runtime === current) {
    const exe = globalThis.Deno ? Deno.execPath() : process.execPath;
    return { cmd: exe, args: runtime === 'deno' ? ['run', '-A', '--quiet', script] : [script] };
  }
  const bin = path.join(repo, 'node_modules', '.bin', runtime);
  if (!(await fs.stat(bin).then(() => true, () => false))) return null;
  return { cmd: bin, args: runtime === 'deno' ? ['run', '-A', '--quiet', script] : [script] };
}

/** Runs the child with `spec`; `onLine(line, child)` sees each line of its output. Resolves { lines, code, signal, err }. */
export async function spawnChild(command, spec, onLine) {
  const { cp } = await node();
  return new Promise((ok, fail) => {
    const child = cp.spawn(command.cmd, [...command.args, JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    const lines = [];
    let buf = '', err = '';
    child.stdout.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        lines.push(line);
        onLine?.(line, child);
      }
    });
    child.stderr.on('data', (d) => { err += d; });
    child.on('error', fail);
    child.on('close', (code, signal) => ok({ lines, code, signal, err }));
  });
}

async function save(root, step, marker, opts) {
  const s = crashState(step, marker);
  try {
    return await saveCheckpoint(root, s.state, opts);
  } finally {
    s.dispose();
  }
}

/** The template every deterministic kill starts from: steps 1–3 (markers 1–3), LATEST → 3, a registry. */
export async function makeTemplate() {
  await ready;
  const root = await tempDir('safeckpt-kill-template-');
  for (const s of [1, 2, 3]) await save(root, s, s);
  return root;
}

async function copyRoot(template) {
  const { fs } = await node();
  const root = await tempDir('safeckpt-kill-');
  await fs.cp(template, root, { recursive: true });
  return root;
}

const isKilled = (r) => r.signal === 'SIGKILL' || r.code === 137;

/**
 * Checks a root after a kill. `allowed`: the [step, marker] pairs LATEST may name; `steps`: step →
 * markers it may hold (a step absent from the map may be missing only where `mayRemove` says).
 * Returns a list of problems, each { kind: 'torn' | 'lost' | 'leftover' | 'registry', message }.
 */
async function checkRoot(root, { allowed, steps, mayRemove = () => false }) {
  const problems = [];
  const problem = (kind, message) => problems.push({ kind, message });
  // 1. As the kill left it: LATEST loads, every listed checkpoint verifies.
  let before;
  try {
    before = await loadMarker(root);
    if (!allowed.some(([s, m]) => s === before.step && m === before.marker)) problem('lost', `LATEST loads step ${before.step} marker ${before.marker}, expected one of ${JSON.stringify(allowed)}`);
  } catch (e) {
    problem('torn', `LATEST does not load: ${e.code} ${e.message}`);
  }
  for (const c of await listCheckpoints(root)) {
    if (c.problem) { problem('torn', `${c.name}: ${c.problem}`); continue; }
    await loadMarker(c.path).catch((e) => problem('torn', `${c.name} (${c.path}) does not verify: ${e.code} ${e.message}`));
  }
  // 2. Resume: recovery, then the checkpoint LATEST named.
  let r;
  try {
    r = await resumeMarker(root);
    if (before && (r.step !== before.step || r.marker !== before.marker)) problem('lost', `resume loads step ${r.step} marker ${r.marker}, LATEST named step ${before.step} marker ${before.marker}`);
    if (r.skipped.length) problem('torn', `resume skipped ${JSON.stringify(r.skipped)}`);
  } catch (e) {
    problem('lost', `resume failed: ${e.code} ${e.message}`);
  }
  // 3. After recovery: no leftovers, every committed step there with an expected marker.
  const { fs } = await node();
  const names = await fs.readdir(root);
  for (const n of names) if (n.includes('.tmp-') || n.includes('.replaced-')) problem('leftover', `${n} left after resume`);
  for (const [step, markers] of steps) {
    const name = `step-${String(step).padStart(8, '0')}`;
    if (!names.includes(name)) {
      if (!mayRemove(step, r)) problem('lost', `${name} is gone`);
      continue;
    }
    try {
      const got = await loadMarker(joinKey(root, name));
      if (!markers.includes(got.marker)) problem('lost', `${name} holds marker ${got.marker}, expected ${markers.join(' or ')}`);
    } catch (e) {
      problem('torn', `${name} does not verify after recovery: ${e.code} ${e.message}`);
    }
  }
  // 4. One more save; then registry.json lists every checkpoint folder of its model.
  try {
    await save(root, 99, 99);
    const reg = JSON.parse(new TextDecoder().decode(await fs.readFile(joinKey(root, 'registry.json'))));
    const listed = new Set(Object.values(reg.models).flatMap((m) => m.checkpoints));
    for (const c of await listCheckpoints(root)) if (!listed.has(c.name)) problem('registry', `registry.json does not list ${c.name}`);
    if ((await fs.readdir(root)).some((n) => n.startsWith('registry.json.lock'))) problem('leftover', 'the registry lock (or its temporary file) is still there after a save');
  } catch (e) {
    problem('registry', `save after recovery or registry check failed: ${e.code} ${e.message}`);
  }
  return problems;
}

/** Runs `jobs` (async functions) `parallel` at a time. */
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

function tally(results) {
  const t = { kills: 0, notKilled: 0, torn: 0, lost: 0, leftover: 0, registry: 0, failures: [] };
  for (const r of results) {
    if (!r.killed) { t.notKilled++; t.failures.push(r); continue; }
    t.kills++;
    const kinds = new Set(r.problems.map((p) => p.kind));
    for (const k of kinds) t[k]++;
    if (r.problems.length) t.failures.push(r);
  }
  return t;
}

/**
 * Deterministic kills: every save path is traced once, then killed before each of its store
 * operations and half-way through each write (`sample`: every n-th point only).
 */
export async function deterministicKills(runtime, { scenarios = SCENARIOS, sample = 1, offset = 0, parallel = 3, template, onResult } = {}) {
  const command = await childCommand(runtime);
  if (!command) return null;
  const { fs } = await node();
  template ??= await makeTemplate();
  const jobs = [];
  const points = {};
  for (const scenario of scenarios) {
    const root = await copyRoot(template);
    const r = await spawnChild(command, { root, scenario });
    await fs.rm(root, { recursive: true, force: true });
    const line = r.lines.find((l) => l.startsWith('TRACE '));
    if (!line) throw new Error(`${runtime} ${scenario}: the traced run printed no trace (exit ${r.code} ${r.signal}): ${r.err}`);
    const trace = JSON.parse(line.slice(6));
    const all = [];
    trace.forEach(([op, key, size], at) => {
      all.push({ at, mid: false, op, key });
      if (op === 'write' && size > 0) all.push({ at, mid: true, op, key });
    });
    const chosen = all.filter((_, i) => i % sample === offset % sample);
    points[scenario] = { operations: trace.length, points: all.length, run: chosen.length };
    const [step, marker] = TARGET[scenario];
    for (const p of chosen) {
      jobs.push(async () => {
        const root = await copyRoot(template);
        const res = await spawnChild(command, { root, scenario, at: p.at, mid: p.mid });
        const steps = new Map([1, 2, 3].map((s) => [s, s === step ? [s, marker] : [s]]));
        if (step === 4) steps.set(4, [marker]);
        const problems = isKilled(res) ? await checkRoot(root, {
          allowed: [[3, 3], [step, marker]],
          steps,
          // Retention may have removed steps 1 and 2 only once step 4 was committed; step 4 exists only once renamed in.
          mayRemove: (s, r) => s === 4 || (scenario === 'retention' && r?.step === 4),
        }) : [];
        const result = { runtime, scenario, point: p, killed: isKilled(res), problems, ...(isKilled(res) ? {} : { exit: res.code, err: res.err.slice(-2000) }) };
        if (!result.problems.length && result.killed) await fs.rm(root, { recursive: true, force: true });
        else result.root = root;
        onResult?.(result);
        return result;
      });
    }
  }
  const results = await pool(jobs, parallel);
  return { ...tally(results), points };
}

/** Random-time kills: a child saving along random paths, killed after a random delay. */
export async function randomKills(runtime, { count, seed = 1, parallel = 3, maxDelayMs = 2500, template, onResult } = {}) {
  const command = await childCommand(runtime);
  if (!command) return null;
  const { fs } = await node();
  template ??= await makeTemplate();
  const next = rng(seed);
  const jobs = Array.from({ length: count }, (_, i) => {
    const delay = Math.floor(next() * maxDelayMs), loopSeed = Math.floor(next() * 2 ** 31);
    return async () => {
      const root = await copyRoot(template);
      const known = new Map([[1, 1], [2, 2], [3, 3]]);
      let latest = [3, 3], inflight = null;
      const res = await spawnChild(command, { root, loop: loopSeed }, (line, child) => {
        if (line === 'READY') setTimeout(() => child.kill('SIGKILL'), delay);
        else if (line.startsWith('BEGIN ')) inflight = JSON.parse(line.slice(6));
        else if (line.startsWith('COMMITTED ')) {
          const c = JSON.parse(line.slice(10));
          known.set(c.step, c.marker);
          for (const n of c.removed) known.delete(Number(n.slice(5)));
          latest = [c.step, c.marker];
          inflight = null;
        }
      });
      const steps = new Map([...known].map(([s, m]) => [s, inflight?.step === s ? [m, inflight.marker] : [m]]));
      if (inflight && !known.has(inflight.step)) steps.set(inflight.step, [inflight.marker]);
      const problems = isKilled(res) ? await checkRoot(root, {
        allowed: inflight ? [latest, [inflight.step, inflight.marker]] : [latest],
        steps,
        mayRemove: (s, r) => (inflight && s === inflight.step && !known.has(s)) || (inflight?.retention && r?.step === inflight.step),
      }) : [];
      const result = { runtime, random: { delay, loopSeed, inflight }, killed: isKilled(res), problems, ...(isKilled(res) ? {} : { exit: res.code, err: res.err.slice(-2000) }) };
      if (!result.problems.length && result.killed) await fs.rm(root, { recursive: true, force: true });
      else result.root = root;
      onResult?.(result);
      return result;
    };
  });
  return tally(await pool(jobs, parallel));
}

/**
 * The full campaign in one runtime (`npm run soak kill`): every kill point of every save path,
 * then random-time kills up to at least `kills`. Throws when anything was torn, lost, left over or
 * unregistered; resolves to the counts (or { skipped } when the runtime does not run here).
 */
export async function killCampaign(runtime, { kills = 500, parallel = 4, seed = 20261206, template, log } = {}) {
  if (!(await childCommand(runtime))) return { runtime, skipped: true };
  template ??= await makeTemplate();
  let done = 0;
  const progress = (r) => { if (++done % 50 === 0) log?.(`${runtime}: ${done} kills`); if (r.problems.length || !r.killed) log?.(`${runtime} FAILURE ${JSON.stringify(r).slice(0, 1500)}`); };
  const d = await deterministicKills(runtime, { template, parallel, onResult: progress });
  const r = await randomKills(runtime, { count: Math.max(0, kills - d.kills), seed, template, parallel, maxDelayMs: 4000, onResult: progress });
  const sum = (k) => d[k] + r[k];
  const out = {
    runtime, kills: sum('kills'), deterministic: d.kills, random: r.kills, paths: Object.keys(d.points).length, points: d.points,
    torn: sum('torn'), lost: sum('lost'), leftover: sum('leftover'), registry: sum('registry'), notKilled: sum('notKilled'),
  };
  const failures = [...d.failures, ...r.failures];
  if (failures.length) {
    throw new Error(`${killSummary(out)}; first failures:\n${failures.slice(0, 5).map((f) => JSON.stringify(f).slice(0, 1500)).join('\n')}`);
  }
  return out;
}

/** One line for a killCampaign result. */
export function killSummary(x) {
  if (x.skipped) return `${x.runtime} does not run here: skipped`;
  return `${x.kills} SIGKILLs of ${x.runtime} saves (${x.deterministic} before every store operation and half-way through every write of ${x.paths} save paths, ` +
    `${x.random} at random times): ${x.torn} torn, ${x.lost} lost, ${x.leftover} with leftovers after resume, ${x.registry} with registry gaps, ${x.notKilled} not killed`;
}

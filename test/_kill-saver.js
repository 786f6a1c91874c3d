// Child of the kill campaign (test/_kill-campaign.js), run by Node, Deno or
// Bun: `_kill-saver.js '<json spec>'`. It runs save paths on the checkpoint
// root spec.root through the fs store, wrapped so that it SIGKILLs itself at
// one chosen store operation (before it, or half-way through a write).
//  { root, scenario, at?, mid? }  one save path (SCENARIOS); `TRACE [...]` when
//                                 not killed: the operations, to choose kill points
//  { root, loop: seed }           save paths at random, one after another,
//                                 announced (BEGIN) and confirmed (COMMITTED),
//                                 until the parent kills it at a random time
//  { root, writer: { model, steps } }  one of several concurrent writers (no kill)
import { FsStore, saveCheckpoint } from '../dist/index.js';
import { ready } from './_tiny.js';
import { FaultStore } from './_fault-store.js';
import { crashState, resumeMarker, MODEL, FT_MODEL, KEY } from './_crash-state.js';
import { rng } from './_env.js';

const spec = JSON.parse((globalThis.Deno ? Deno.args : process.argv.slice(2))[0]);
await ready;

function die() {
  process.kill(process.pid, 'SIGKILL');
  for (;;); // never reached: nothing of this process runs after its kill point
}

const fault = new FaultStore(new FsStore(spec.root), { at: spec.at ?? Infinity, mid: !!spec.mid, onDie: die });
const root = { store: fault, key: '' };

async function save(step, marker, opts = {}, metadata = MODEL, lineage) {
  const s = crashState(step, marker, metadata);
  try {
    return await saveCheckpoint(root, { ...s.state, ...(lineage ? { lineage } : {}) }, opts);
  } finally {
    s.dispose();
  }
}

/** The save paths, each from the campaign's template root (steps 1–3, LATEST → 3). */
const SCENARIOS = {
  fresh: () => save(4, 40),
  'fresh-signed': () => save(4, 41, { key: KEY, keyId: 'kill' }),
  resave: () => save(2, 20),
  'resave-latest': () => save(3, 30),
  retention: () => save(4, 42, { retention: { keepLast: 2 } }),
  finetune: async () => {
    const r = await resumeMarker(root, { newModelName: FT_MODEL.model_name });
    await save(4, 43, {}, { ...FT_MODEL }, r.lineage);
  },
};

const out = (line) => process.stdout.write(line + '\n');

if (spec.writer) {
  for (const step of spec.writer.steps) await save(step, step, {}, { model_name: spec.writer.model });
  out('DONE');
} else if (spec.loop !== undefined) {
  const next = rng(spec.loop);
  const steps = new Set([1, 2, 3]);
  let marker = 100;
  out('READY');
  for (;;) {
    const have = [...steps].sort((a, b) => a - b);
    const latest = have[have.length - 1];
    const x = next();
    const kind = x < 0.35 ? 'fresh' : x < 0.55 ? 'resave' : x < 0.75 ? 'resave-latest' : 'retention';
    const step = kind === 'resave' ? have[Math.floor(next() * have.length)] : kind === 'resave-latest' ? latest : latest + 1;
    const m = marker++;
    const opts = kind === 'retention' ? { retention: { keepLast: 3 } } : {};
    out('BEGIN ' + JSON.stringify({ kind, step, marker: m, retention: kind === 'retention' }));
    const info = await save(step, m, opts);
    steps.add(step);
    for (const r of info.removed ?? []) steps.delete(Number(r.slice(5)));
    out('COMMITTED ' + JSON.stringify({ step, marker: m, removed: info.removed ?? [] }));
  }
} else {
  await SCENARIOS[spec.scenario]();
  out('TRACE ' + JSON.stringify(fault.trace.map((t) => [t.op, t.key, t.size ?? 0])));
}
process.exit(0);

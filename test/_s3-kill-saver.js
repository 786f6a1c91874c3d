// Child of the S3 kill campaign (test/_s3-kill-campaign.js), killed by its parent at a random time:
//   node|deno run -A|bun test/_s3-kill-saver.js '<json spec>'   spec: { s3, seed, from, rank?, worldSize?, rows? }
// Saves checkpoints to the S3 root one after another, announcing each (BEGIN {step, marker}) and confirming it
// (COMMITTED {step, marker, removed}): with worldSize, this rank's part of each (checkpointId `kill-STEP`).
// Single-rank saves pick at random a fresh step or one with retention (keep the last 2).
import { S3Store, saveCheckpoint } from '../dist/index.js';
import { ready } from './_tiny.js';
import { rng } from './_env.js';
import { crashState, partState } from './_crash-state.js';

const spec = JSON.parse((globalThis.Deno ? Deno.args : process.argv.slice(2))[0]);
await ready;
const store = new S3Store(spec.s3);
const next = rng(spec.seed);
const out = (line) => process.stdout.write(line + '\n');
out('READY');
for (let step = spec.from; ; step++) {
  const marker = step * 10 + (spec.rank ?? 0);
  const retention = spec.worldSize ? undefined : next() < 0.4 ? { keepLast: 2 } : undefined;
  out('BEGIN ' + JSON.stringify({ step, marker, retention: !!retention }));
  const s = spec.worldSize ? partState(step, marker, spec.rank) : crashState(step, marker, undefined, spec.rows);
  try {
    const info = await saveCheckpoint({ store, key: '' }, s.state, spec.worldSize
      ? { rank: spec.rank, worldSize: spec.worldSize, checkpointId: `kill-${step}`, commitTimeoutMs: 60_000 }
      : { retention });
    out('COMMITTED ' + JSON.stringify({ step, marker, name: info.name, removed: info.removed ?? [] }));
  } finally {
    s.dispose();
  }
}

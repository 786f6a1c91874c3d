#!/usr/bin/env node
// `npm run bench`: runs every bench/*.bench.js (or those matching the
// arguments) in its own Node process, one after another so they do not compete
// for the 2 cores, and prints each one's table of ratios against its peers.
// Each bench measures safeckpt and its peers in the same run.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpus, totalmem } from 'node:os';

const dir = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const files = readdirSync(dir).filter((f) => f.endsWith('.bench.js'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x))).sort();

console.log(`# safeckpt benchmarks — ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ` +
  `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB`);
let failed = 0;
for (const f of files) {
  console.log(`\n## ${f.replace('.bench.js', '')}\n`);
  const r = spawnSync(process.execPath, ['--expose-gc', join(dir, f)], { stdio: 'inherit' });
  if (r.status !== 0) { failed++; console.log(`(${f} exited with ${r.status})`); }
}
process.exit(failed ? 1 : 0);

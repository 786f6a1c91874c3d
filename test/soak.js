#!/usr/bin/env node
// `npm run soak`: every soak in test/*.soak.js (the long versions of the
// suite's sampled campaigns), one after another, each in its own process;
// extra arguments go to each. Exits 1 if any fails.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
let failed = 0;
for (const f of readdirSync(dir).filter((x) => x.endsWith('.soak.js')).sort()) {
  console.log(`== ${f}`);
  const r = spawnSync(process.execPath, [dir + f, ...process.argv.slice(2)], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);

// `npm run soak` part: the full kill campaign (test/_kill-campaign.js) in
// every runtime here — Node, Deno, and Bun when node_modules/.bin/bun runs —
// every kill point of every save path (before each store operation, half-way
// through each write), then random-time kills up to at least KILLS per
// runtime. Prints one line per runtime and a JSON summary; exits 1 on any
// torn or lost checkpoint. Usage: node test/kill.soak.js [--kills N] [--only node,deno,bun]
import { deterministicKills, randomKills, makeTemplate, childCommand } from './_kill-campaign.js';
import { cpus, hostname, totalmem } from 'node:os';

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const KILLS = Number(opt('--kills', 500));
const only = opt('--only', 'node,deno,bun').split(',');
const PARALLEL = Number(opt('--parallel', 4));

const started = new Date();
const template = await makeTemplate();
const results = {};
let bad = 0;
for (const rt of only) {
  if (!(await childCommand(rt))) { console.log(`${rt}: not runnable here, skipped`); continue; }
  const t0 = Date.now();
  const d = await deterministicKills(rt, { template, parallel: PARALLEL });
  const r = await randomKills(rt, { count: Math.max(0, KILLS - d.kills), seed: 20261206, template, parallel: PARALLEL, maxDelayMs: 4000 });
  const sum = (k) => d[k] + r[k];
  results[rt] = {
    kills: sum('kills'), deterministic: d.kills, random: r.kills, points: d.points,
    torn: sum('torn'), lost: sum('lost'), leftover: sum('leftover'), registry: sum('registry'), notKilled: sum('notKilled'),
    seconds: Math.round((Date.now() - t0) / 1000),
    failures: [...d.failures, ...r.failures].slice(0, 5),
  };
  const x = results[rt];
  bad += x.torn + x.lost + x.leftover + x.registry + x.notKilled;
  console.log(`${rt}: ${x.kills} SIGKILLs (${x.deterministic} at every store operation / half-way write of ${Object.keys(d.points).length} save paths, ${x.random} at random times): ` +
    `${x.torn} torn, ${x.lost} lost, ${x.leftover} with leftovers after resume, ${x.registry} with registry gaps, ${x.notKilled} not killed — ${x.seconds} s`);
  for (const f of x.failures) console.log('  failure: ' + JSON.stringify(f).slice(0, 1200));
}
console.log('SOAK_KILL ' + JSON.stringify({
  date: started.toISOString(), machine: { host: hostname(), cpus: cpus().length, cpu: cpus()[0]?.model, memGiB: Math.round(totalmem() / 2 ** 30) }, results,
}));
process.exit(bad ? 1 : 0);

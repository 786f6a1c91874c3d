#!/usr/bin/env node
// `npm run soak`: long campaigns the test suite only samples, run by name and
// reported one line each (and as JSON with --json). Campaigns:
//   fuzz:<parser>   ≥ 100,000 generated inputs per parser (test/_fuzz.js): only
//                   values or typed errors, each within the time bound, memory bounded
//   kill:<runtime>  ≥ 500 SIGKILLs of checkpoint saves (fs); kill:s3 ≥ 100 on S3 (Ceph RGW)
// Usage: node scripts/soak.js [campaign… | fuzz] [--runs N] [--seed S] [--json]
// With no campaign named, every campaign runs. Exit 1 when any campaign fails.
// A campaign is `async () => result`: it throws when it fails; `summary(result)` is its line.
import { performance } from 'node:perf_hooks';
import os from 'node:os';

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const json = args.includes('--json');
const valueFlags = new Set(['--runs', '--seed', '--kills', '--parallel']);
const names = args.filter((a, i) => !a.startsWith('--') && !valueFlags.has(args[i - 1]));

const { CAMPAIGNS, runCampaign } = await import('../test/_fuzz.js');
/** Every soak campaign by name. */
const campaigns = {};
for (const parser of Object.keys(CAMPAIGNS)) {
  campaigns[`fuzz:${parser}`] = {
    run: () => runCampaign(parser, {
      runs: Number(opt('--runs', 100_000)), seed: Number(opt('--seed', 0x5afec4)), timeBoundMs: 10_000, memoryBoundBytes: 1024 ** 3,
      log: (l) => { if (!json) process.stderr.write(`  … ${l}\n`); },
    }),
    summary: (r) => `${r.runs} inputs of ${r.what}: ${r.ok} accepted, refused ${Object.entries(r.errors).map(([c, n]) => `${c} ${n}`).join(', ') || 'none'}; ` +
      `slowest ${r.maxMs} ms, peak RSS ${r.peakRssMB} MB, seed ${r.seed}`,
  };
}

// kill:<runtime>  ≥ 500 SIGKILLs of checkpoint saves per runtime (test/_kill-campaign.js): every store operation of
// every save path, half-way through every write, and random times.
const { killCampaign, killSummary } = await import('../test/_kill-campaign.js');
for (const runtime of ['node', 'deno', 'bun']) {
  campaigns[`kill:${runtime}`] = {
    run: () => killCampaign(runtime, {
      kills: Number(opt('--kills', 500)), parallel: Number(opt('--parallel', 4)),
      log: (l) => { if (!json) process.stderr.write(`  … ${l}\n`); },
    }),
    summary: killSummary,
  };
}

// kill:s3  ≥ 100 SIGKILLs of checkpoint writers on S3 (a Ceph RGW started for it): one writer, and three writers
// of one checkpoint each killed at its own random time (test/_s3-kill-campaign.js).
const { s3KillCampaign, s3KillSummary } = await import('../test/_s3-kill-campaign.js');
const { startRgw } = await import('./rgw.js');
campaigns['kill:s3'] = {
  run: () => s3KillCampaign({ startRgw, parallel: Number(opt('--parallel', 3)), log: (l) => { if (!json) process.stderr.write(`  … ${l}\n`); } }),
  summary: (r) => `${r.kills} SIGKILLs on S3: ${s3KillSummary(r.single)}; ${s3KillSummary(r.multi)}`,
};

const wanted = names.length === 0 ? Object.keys(campaigns)
  : Object.keys(campaigns).filter((c) => names.some((n) => c === n || c.startsWith(n + ':')));
if (wanted.length === 0) {
  console.error(`no campaign matches ${names.join(' ')}; campaigns: ${Object.keys(campaigns).join(', ')}`);
  process.exit(2);
}
const machine = `${os.cpus()[0]?.model ?? 'unknown CPU'} × ${os.cpus().length}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.versions.node}`;
if (!json) console.log(`soak on ${machine}, ${new Date().toISOString()}`);
const results = [];
for (const name of wanted) {
  const t0 = performance.now();
  let r;
  try {
    r = { campaign: name, passed: true, result: await campaigns[name].run() };
  } catch (e) {
    // fast-check's own message is the seed and path; the reason is in its cause.
    const why = e?.cause ? `${String(e.cause?.message ?? e.cause).slice(0, 2000)}\n` : '';
    r = { campaign: name, passed: false, error: why + String(e?.message ?? e).split('\n').filter((l) => !l.startsWith('Counterexample')).join('\n').slice(0, 2000) };
  }
  r.seconds = Math.round((performance.now() - t0) / 100) / 10;
  results.push(r);
  if (json) continue;
  if (r.passed) console.log(`ok   ${name}: ${campaigns[name].summary(r.result)} (${r.seconds} s)`);
  else console.log(`FAIL ${name} (${r.seconds} s)\n${r.error}`);
}
if (json) console.log(JSON.stringify({ machine, date: new Date().toISOString(), results }));
process.exit(results.every((r) => r.passed) ? 0 : 1);

#!/usr/bin/env node
// Calls the handler several times with a short budget, as a scheduler would, and prints each invocation's steps.
//   node examples/serverless-resume/run.js [root] [budgetMs] [invocations] [--max-steps N] [--json]
// root: a folder or s3://bucket/prefix (endpoint and credentials from the AWS_* variables). Runs as it is in
// Deno (deno run -A) and Bun (bun run) too. --json prints each invocation's result as one JSON line.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from './tf.js';
import { handler } from './handler.js';

const argv = process.argv.slice(2);
const flag = (name) => { const i = argv.indexOf(name); return i < 0 ? undefined : argv.splice(i, 2)[1]; };
const json = argv.includes('--json') && argv.splice(argv.indexOf('--json'), 1).length > 0;
const maxSteps = Number(flag('--max-steps') ?? Infinity);
await tf.initTf();
const root = argv[0] || (await mkdtemp(join(tmpdir(), 'safeckpt-serverless-')));
const budgetMs = Number(argv[1] ?? 1500), invocations = Number(argv[2] ?? 4);
for (let i = 1; i <= invocations; i++) {
  const r = await handler({ tf, root, budgetMs, maxSteps });
  if (json) { console.log(JSON.stringify(r)); continue; }
  const steps = Object.keys(r.losses).map(Number);
  console.log(steps.length === 0 ? `invocation ${i}: nothing to train (step ${r.step})`
    : `invocation ${i}: steps ${steps[0]}–${r.step}, loss ${r.losses[r.step].toFixed(4)}, committed ${r.checkpoint}`);
}
if (!json) console.log(`checkpoints in ${root}`);

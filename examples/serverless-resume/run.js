#!/usr/bin/env node
// Calls the handler several times with a short budget, as a scheduler would, and
// prints each invocation's steps: node examples/serverless-resume/run.js [dir] [budgetMs] [invocations]
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '../../build/tf.js';
import { handler } from './handler.js';

await tf.initTf();
const root = process.argv[2] || (await mkdtemp(join(tmpdir(), 'safeckpt-serverless-')));
const budgetMs = Number(process.argv[3] ?? 1500), invocations = Number(process.argv[4] ?? 4);
for (let i = 1; i <= invocations; i++) {
  const r = await handler({ tf, root, budgetMs });
  const steps = Object.keys(r.losses).map(Number);
  console.log(`invocation ${i}: steps ${steps[0]}–${r.step}, loss ${r.losses[r.step].toFixed(4)}, committed ${r.checkpoint}`);
}
console.log(`checkpoints in ${root}`);

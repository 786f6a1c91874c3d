// Makes test/fixtures/checkpoint/adam-node/: the tiny LM trained 20 steps with Adam IN NODE and
// checkpointed, plus Node's float32 losses for steps 1–40 of the uninterrupted run and its final
// weights digest. Committed, so Deno and Chromium resume from a checkpoint Node wrote.
// Run: node test/_make-checkpoint-fixture.js
import { rm, mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { runJob } from './_ckpt-job.js';
import { bits } from './_tiny.js';

const dir = fileURLToPath(new URL('./fixtures/checkpoint/adam-node/', import.meta.url));
await rm(dir, { recursive: true, force: true });
await mkdir(dir, { recursive: true });
const ref = await runJob({ op: 'train', optimizer: 'adam', until: 40, saveTo: { 20: dir } });
const steps = Array.from({ length: 40 }, (_, i) => i + 1);
await writeFile(dir + 'expected.json', JSON.stringify({
  made_by: `node ${process.version}`, optimizer: 'adam', saved_at_step: 20,
  loss_bits: bits(steps.map((s) => ref.losses[s])), losses: steps.map((s) => ref.losses[s]), final_weights_sha256: ref.digest,
}, null, 1) + '\n');
console.log(`wrote ${dir}`);

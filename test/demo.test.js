// `npm start` — the main job on its embedded default — as a user runs it:
// train, SIGKILL a checkpointing child, resume from LATEST, every loss equal
// to the uninterrupted run, verify, fine-tune lineage; exit 0. Node only (the
// demo spawns a child process); it takes 5–15 s.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runtime } from './_env.js';

const D = suite('demo (npm start)');
if (runtime === 'node' || runtime === 'bun') {
  const { spawn } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const main = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
  const run = () => new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [main, 'demo'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  D('resumes a SIGKILLed run bit for bit, verifies the checkpoint, prints the lineage, exits 0', async () => {
    const r = await run();
    assert.is(r.code, 0, r.stderr + r.stdout);
    const m = /(\d+)\/(\d+) losses bit-identical/.exec(r.stdout);
    assert.ok(m && m[1] === m[2] && Number(m[2]) >= 30, r.stdout);
    assert.match(r.stdout, /killed \(SIGKILL\) after step \d+/);
    assert.match(r.stdout, /verified step-\d{8}: \d+ files/);
    assert.match(r.stdout, /tiny-alice-poetry \[custom-transformer, finetuned\] started .* from step 30/);
    // the chart's step axis: numbers every tenth step, each ending under its column
    const axis = r.stdout.split('\n').find((l) => /^ +step +\+/.test(l));
    assert.ok(axis, r.stdout);
    const col0 = axis.indexOf('+') - 4; // the '+' of step 5 sits 4 columns after step 1
    for (const s of [10, 20, 30]) assert.is(axis.slice(col0 + s - 2, col0 + s), String(s), axis);
    const root = /checkpoints: (\S+)/.exec(r.stdout)?.[1];
    assert.ok(root, 'names its checkpoint folder');
    const { existsSync } = await import('node:fs');
    assert.is(existsSync(root), false, `the temporary checkpoint folder ${root} is removed`);
  });
}
D.run();

// A writer killed with SIGKILL at random points never leaves, under the final
// name, a file that verifies wrongly: either nothing (or the previous version)
// or a complete file that verifies — never a torn one that is accepted.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { verify, readSafetensors } from '../dist/index.js';
import { runtime, tempDir, rng } from './_env.js';

const K = suite('atomic write under SIGKILL');
const RUNS = 50, BATCH = 25, KEY = 'kill-test-key';

if (runtime === 'node' || runtime === 'bun') {
  K(`${RUNS} writers killed at random points leave only absent or verifying files`, async () => {
    const { spawn } = await import('node:child_process');
    const { fileURLToPath } = await import('node:url');
    const fs = await import('node:fs/promises');
    const script = fileURLToPath(new URL('./_kill-writer.js', import.meta.url));
    const next = rng(424242);
    const outcomes = { absent: 0, verified: 0, noSidecar: 0 };
    for (let b = 0; b < RUNS / BATCH; b++) {
      const runs = await Promise.all(Array.from({ length: BATCH }, async (_, i) => {
        const dir = await tempDir('safeckpt-kill-');
        const delay = Math.floor(next() * 100);
        const child = spawn(process.execPath, [script, `${dir}/model.safetensors`, KEY], { stdio: ['ignore', 'pipe', 'ignore'] });
        // The clock starts once the child has loaded safeckpt and begins writing; every
        // other run lets it complete a first version, so a kill can also hit a replacement.
        const waitFor = i % 2 ? 'wrote' : 'go';
        let out = '';
        await new Promise((ok) => child.stdout.on('data', (d) => { out += d; if (out.includes(waitFor)) ok(); }));
        await new Promise((ok) => setTimeout(ok, delay));
        child.kill('SIGKILL');
        await new Promise((ok) => child.once('exit', ok));
        return dir;
      }));
      for (const dir of runs) {
        const path = `${dir}/model.safetensors`;
        let r;
        try {
          r = await verify(path, { key: (await fs.stat(path + '.meta.json').then(() => true, () => false)) ? KEY : undefined });
        } catch (e) {
          if (e.code === 'NOT_FOUND') { outcomes.absent++; await fs.rm(dir, { recursive: true, force: true }); continue; }
          assert.unreachable(`${path}: ${e.code} ${e.message}`);
        }
        r.sidecar === 'verified' ? outcomes.verified++ : outcomes.noSidecar++;
        // Whatever is there is one whole version: every byte equal to the version in its metadata.
        const f = await readSafetensors(path, { verify: false });
        const v = Number(f.metadata.version) & 0xff;
        for (const t of Object.values(f.tensors)) assert.ok(t.bytes().every((x) => x === v), `${path}: torn tensor ${t.name}`);
        await fs.rm(dir, { recursive: true, force: true });
      }
    }
    console.log(`  SIGKILL outcomes: ${JSON.stringify(outcomes)}`);
    assert.ok(outcomes.verified > 0, JSON.stringify(outcomes));
    assert.is(outcomes.absent + outcomes.verified + outcomes.noSidecar, RUNS);
  });
}
K.run();

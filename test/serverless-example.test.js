// examples/serverless-resume: several short invocations of the handler give the
// same losses, bit for bit, as one long one — on a folder, and on S3 (Ceph RGW
// from test/run.js, SAFECKPT_TEST_S3_*) in every runtime; and (Node drives it)
// one run whose invocations move between Node, a Cloudflare Worker in workerd
// (examples/serverless-resume/workerd.js), Deno and Bun on the same checkpoints
// in S3, each resuming from what the one before committed, equal to one
// uninterrupted run in losses and in the bytes of the final checkpoint.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { handler } from '../examples/serverless-resume/handler.js';
import { S3Store, listCheckpoints } from '../dist/index.js';
import { tf, ready, bits } from './_tiny.js';
import { freshRoot, storeOf } from './_ckpt-env.js';
import { runtime, s3TestOptions } from './_env.js';

await ready;
const S = suite('serverless-resume example');
const steps = (n, from = 1) => Array.from({ length: n - from + 1 }, (_, i) => from + i);

S('invocations ending at steps 3, 7 and 10 reproduce one run of 10 steps', async () => {
  const [oneRoot, root] = [await freshRoot('sl'), await freshRoot('sl')];
  try {
    const one = await handler({ tf, root: oneRoot, budgetMs: 1e9, maxSteps: 10 });
    const losses = {};
    for (const stop of [3, 7, 10]) {
      const r = await handler({ tf, root, budgetMs: 1e9, maxSteps: stop });
      assert.is(r.step, stop);
      Object.assign(losses, r.losses);
    }
    assert.equal(bits(steps(10).map((s) => losses[s])), bits(steps(10).map((s) => one.losses[s])));
  } finally {
    for (const r of [oneRoot, root]) { const { store, key } = storeOf(r); await store.remove(key); }
  }
});

S('on S3: invocations ending at steps 2, 5 and 6 reproduce one run of 6 steps, down to the bytes of the last checkpoint', async () => {
  const ref = new S3Store(s3TestOptions()), run = new S3Store(s3TestOptions());
  try {
    const one = await handler({ tf, root: ref, budgetMs: 1e9, maxSteps: 6 });
    const losses = {};
    let last;
    for (const stop of [2, 5, 6]) {
      last = await handler({ tf, root: run, budgetMs: 1e9, maxSteps: stop });
      assert.is(last.step, stop);
      Object.assign(losses, last.losses);
    }
    assert.equal(bits(steps(6).map((s) => losses[s])), bits(steps(6).map((s) => one.losses[s])));
    assert.equal(last.sha256, one.sha256, 'the committed model and optimizer files are byte-identical');
    // Retention (keep the last 3, and the best by loss) ran on S3: three checkpoints, LATEST the newest.
    assert.is((await listCheckpoints(run)).length, 3);
  } finally {
    await ref.remove('');
    await run.remove('');
  }
});

S.run();

if (runtime === 'node') {
  const X = suite('serverless-resume across runtimes: Node → workerd → Node → Deno → Bun on one run in S3');
  const { spawn } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  // Not a literal: the browser bundle of the tests must not follow it into esbuild and node:child_process.
  const workerdJs = new URL('../examples/serverless-resume/workerd.js', import.meta.url).href;
  const { serveWorker } = await import(workerdJs);
  const repo = fileURLToPath(new URL('..', import.meta.url));
  const bin = (name) => `${repo}node_modules/.bin/${name}`;

  /** One invocation of examples/serverless-resume/run.js in a fresh process of `rt`; its JSON result. */
  function invoke(rt, root, maxSteps, env) {
    const cmd = { node: [process.execPath], deno: [bin('deno'), 'run', '-A', '--quiet'], bun: [bin('bun'), 'run'] }[rt];
    return new Promise((ok, fail) => {
      const child = spawn(cmd[0], [...cmd.slice(1), 'examples/serverless-resume/run.js', root, '1e9', '1', '--max-steps', String(maxSteps), '--json'],
        { cwd: repo, env: { ...process.env, ...env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d) => { out += d; });
      child.stderr.on('data', (d) => { out += d; });
      child.on('error', fail);
      child.on('close', (code) => {
        const line = out.split('\n').find((l) => l.startsWith('{'));
        if (code !== 0 || !line) return fail(new Error(`${rt} run.js exited ${code}:\n${out}`));
        ok({ runtime: rt, ...JSON.parse(line) });
      });
    });
  }

  X('each invocation resumes what the previous runtime committed; losses and the final checkpoint equal one uninterrupted Node run', async () => {
    const o = s3TestOptions();
    const env = {
      AWS_ENDPOINT_URL: o.endpoint, AWS_REGION: o.region,
      AWS_ACCESS_KEY_ID: o.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: o.credentials.secretAccessKey,
    };
    const base = `s3://${o.bucket}/${o.prefix}`;
    let log = '';
    const worker = await serveWorker({ bindings: { ...env, CHECKPOINT_ROOT: base }, log: (s) => { log += s; } });
    const invokeWorker = async (q) => {
      const res = await fetch(`${worker.url}/?run=chain&${q}`, { method: 'POST' });
      const body = await res.json();
      assert.is(res.status, 200, JSON.stringify(body) + log);
      return body;
    };
    try {
      const one = await invoke('node', `${base}/one`, 13, env);
      assert.equal(Object.keys(one.losses).map(Number), steps(13));

      const done = [await invoke('node', `${base}/chain`, 3, env)];
      // The Worker, invoked as a scheduler would, with a budget of 1 ms: each invocation trains until its
      // deadline (a step), commits, and the next one resumes from that commit.
      const onWorker = async (maxSteps) => {
        for (let calls = 0; done[done.length - 1].step < maxSteps; calls++) {
          assert.ok(calls < 10, 'the Worker makes progress');
          const r = await invokeWorker(`budgetMs=1&maxSteps=${maxSteps}`);
          if (Object.keys(r.losses).length > 0) done.push(r);  // (a deadline passed before the first step: no commit)
        }
      };
      await onWorker(6);
      assert.ok(done.filter((r) => r.runtime === 'workerd').length >= 2, 'invoked repeatedly');
      done.push(await invoke('node', `${base}/chain`, 8, env));      // back in Node, on the Worker's checkpoint
      done.push(await invoke('deno', `${base}/chain`, 10, env));
      done.push(await invoke('bun', `${base}/chain`, 12, env));
      await onWorker(13);                                               // and the Worker resumes Bun's
      const losses = {};
      for (let i = 0; i < done.length; i++) {
        const r = done[i];
        assert.is(r.resumedFrom, i === 0 ? 0 : done[i - 1].step, `${r.runtime} resumed from what ${done[i - 1]?.runtime} committed`);
        assert.ok(Object.keys(r.losses).length > 0);
        Object.assign(losses, r.losses);
      }
      assert.equal(done.map((r) => r.runtime).filter((r, i, a) => r !== a[i - 1]), ['node', 'workerd', 'node', 'deno', 'bun', 'workerd']);
      assert.equal(bits(steps(13).map((s) => losses[s])), bits(steps(13).map((s) => one.losses[s])), 'losses bit-identical to one run');
      assert.equal(done[done.length - 1].sha256, one.sha256, 'the final model and optimizer files are byte-identical to one run');
    } finally {
      await worker.stop();
      await new S3Store(o).remove('');
    }
  });
  X.run();
}

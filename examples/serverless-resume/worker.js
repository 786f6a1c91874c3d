// The handler as a Cloudflare Worker: each request is one invocation — resume from the newest checkpoint that
// verifies in object storage, train until the time budget, commit, answer what happened as JSON.
//   POST /?budgetMs=2000[&maxSteps=N][&run=NAME]
// Bindings (text): CHECKPOINT_ROOT (s3://bucket/prefix; `run` adds a level below it, one folder per training
// run), AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (secrets in a deployment).
// A Worker has no process.env: the S3 store reads these from the bindings given as `env`.
import * as tf from './tf.js';
import { S3Store, parseS3Url, CheckpointError } from '../../dist/index.js';
import { handler } from './handler.js';

export default {
  async fetch(request, env) {
    const q = new URL(request.url).searchParams;
    try {
      const { bucket, key } = parseS3Url(env.CHECKPOINT_ROOT);
      const run = q.get('run');
      const root = new S3Store({ bucket, prefix: run ? `${key}/${run}` : key, env });
      await tf.initTf();
      const result = await handler({
        tf, root, budgetMs: Number(q.get('budgetMs') ?? 10_000), maxSteps: Number(q.get('maxSteps') ?? Infinity),
      });
      return Response.json({ ok: true, runtime: 'workerd', ...result });
    } catch (e) {
      const status = e instanceof CheckpointError ? 422 : 500;
      return Response.json({ ok: false, code: e?.code ?? null, message: String(e?.message ?? e) }, { status });
    }
  },
};

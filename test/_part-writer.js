// One writer of a multi-writer checkpoint, in a process of its own (test/checkpoint-parts.test.js):
//   node test/_part-writer.js '<json spec>'   spec: { root | s3, rank, worldSize, id, steps, timeoutMs?, dieAt? }
// Trains the sharded tiny LM `steps` steps (every process the same replica), saves its rank's shard as its
// part, prints `RESULT {json}` (the committed checkpoint's name, or the error's code and detail). With
// dieAt: 'part' it SIGKILLs itself half-way through writing its part (before part.json).
import { FsStore, S3Store, saveCheckpoint } from '../dist/index.js';
import { ready } from './_tiny.js';
import { shardedRun } from './_parts.js';

const spec = JSON.parse((globalThis.Deno ? Deno.args : process.argv.slice(2))[0]);
await ready;
const base = spec.s3 ? new S3Store(spec.s3) : new FsStore(spec.root);
const store = !spec.dieAt ? base : new Proxy(base, {
  get(t, p) {
    const v = Reflect.get(t, p);
    if (p === 'write') {
      return async (key, data) => {
        // After its optimizer file, before its trainer state and part.json: the part is half written.
        if (key.endsWith('/trainer_state.json') && key.includes(`/rank-${String(spec.rank).padStart(5, '0')}-`)) process.kill(process.pid, 'SIGKILL');
        return v.call(t, key, data);
      };
    }
    return typeof v === 'function' ? v.bind(t) : v;
  },
});
const run = shardedRun(spec.worldSize, `w${spec.rank}/`);
for (let i = 0; i < spec.steps; i++) run.train();
try {
  const info = await saveCheckpoint({ store, key: '' }, run.state(spec.rank), {
    rank: spec.rank, worldSize: spec.worldSize, checkpointId: spec.id, commitTimeoutMs: spec.timeoutMs,
  });
  console.log('RESULT ' + JSON.stringify({ ok: true, name: info.name, step: info.step, latest: info.latest }));
} catch (e) {
  console.log('RESULT ' + JSON.stringify({ ok: false, code: e.code, detail: e.detail, message: e.message }));
}
run.dispose();
process.exit(0);

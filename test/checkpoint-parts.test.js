// One checkpoint written by several writers: saveCheckpoint(root, state, { rank, worldSize, checkpointId }).
// Each rank writes its part (its shard of the tiny LM and of the optimizer state, its trainer state, part.json);
// the checkpoint is committed once, when every part is durable. On the store each runtime has (fs, OPFS,
// memory) and on S3 (Ceph RGW from test/run.js, SAFECKPT_TEST_S3_*), ranks as concurrent saves in one
// process; and (Node) ranks as processes, one of them SIGKILLed half-way through its part.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { S3Store, saveCheckpoint, loadCheckpoint, resumeTraining, listCheckpoints, verify, resolveSource, joinKey, generateSigningKey } from '../dist/internal.js';
import { TinyLM } from '../dist/demo/index.js';
import { tf, ready, bits, weightBytes, TEST_CONFIG } from './_tiny.js';
import { shardedRun } from './_parts.js';
import { freshRoot } from './_ckpt-env.js';
import { runtime, s3TestOptions } from './_env.js';

await ready;
const dec = new TextDecoder();
let runs = 0;

async function failure(p) {
  try { await p; } catch (e) { return e; }
  throw new Error('expected a failure, but it succeeded');
}

const roots = {
  async store() { const r = await freshRoot('parts'); const { store, key } = resolveSource(r); return { root: r, store, key, done: () => store.remove(key) }; },
  async s3() { const store = new S3Store(s3TestOptions()); return { root: store, store, key: '', done: () => store.remove('') }; },
};

/** Trains a sharded run `steps` steps and saves every rank's part at once; returns the run and the infos. */
async function saveSharded(root, worldSize, steps, id, opts = {}) {
  const run = shardedRun(worldSize, `p${runs++}/`);
  for (let i = 0; i < steps; i++) run.train();
  const infos = await Promise.all(Array.from({ length: worldSize }, (_, r) => saveCheckpoint(root, run.state(r), { rank: r, worldSize, checkpointId: id, ...opts })));
  return { run, infos };
}

const P = suite('a checkpoint of several writers: each rank its part, committed once');
for (const [where, make] of Object.entries(roots)) {
  P(`${where}: three ranks save their shards at once — one checkpoint; each rank resumes its shard exactly; the union loads into the whole model`, async () => {
    const r = await make();
    try {
      const { run, infos } = await saveSharded(r.root, 3, 4, `job-${runs}-4`);
      const name = infos[0].name;
      assert.ok(infos.every((i) => i.name === name && i.step === 4), JSON.stringify(infos.map((i) => i.name)));
      assert.is(dec.decode(await r.store.read(joinKey(r.key, 'LATEST'))).trim(), name);
      const list = await listCheckpoints(r.root);
      assert.equal(list.map((c) => [c.name, c.latest]), [[name, true]]);
      const parts = Object.keys(list[0].files).map((f) => f.split('/')[0]);
      assert.equal([...new Set(parts)], ['rank-00000-of-00003', 'rank-00001-of-00003', 'rank-00002-of-00003']);
      assert.ok(Object.keys(list[0].files).includes('rank-00001-of-00003/part.json'));
      assert.is((await verify(r.root)).ok, true);

      // Reference: the same run goes on 3 steps.
      const saved = weightBytes(run.model);
      const expected = [run.train(), run.train(), run.train()];
      // Each rank loads its own part into its own shard and optimizer (and its trainer state), and goes on.
      const cont = shardedRun(3, `p${runs++}/`, (await loadCheckpoint(r.root)).dataCursor);
      for (let k = 0; k < 3; k++) {
        const l = await loadCheckpoint(r.root, { model: cont.shards[k], optimizer: cont.opts[k], rank: k });
        assert.equal([l.step, l.config], [4, { rank: k }], "the rank's own trainer state");
      }
      cont.step = 4;
      assert.equal(bits([cont.train(), cont.train(), cont.train()]), bits(expected), 'resumed shards continue bit-identically');
      cont.dispose();

      // The union of the parts restores the whole model (no optimizer: each rank's Adam is its own).
      const whole = TinyLM.create(tf, TEST_CONFIG, { prefix: `p${runs++}/` });
      const l = await loadCheckpoint(r.root, { model: whole });
      assert.equal([l.step, l.config], [4, { rank: 0 }]);
      assert.equal(weightBytes(whole), saved, 'the union is the saved model, bit for bit');
      whole.dispose();
      run.dispose();
    } finally {
      await r.done();
    }
  });

  P(`${where}: a rank whose part never comes — nothing is committed, LATEST stays; the others fail COMMIT_TIMEOUT naming it`, async () => {
    const r = await make();
    try {
      const first = await saveSharded(r.root, 2, 1, `job-${runs}-1`);
      first.run.dispose();
      const run = shardedRun(3, `p${runs++}/`);
      run.train();
      const id = `job-${runs}-2`;
      const errs = await Promise.all([0, 1].map((k) => failure(saveCheckpoint(r.root, run.state(k), { rank: k, worldSize: 3, checkpointId: id, commitTimeoutMs: 300 }))));
      for (const e of errs) {
        assert.is(e.code, 'IO');
        assert.is(e.detail, 'COMMIT_TIMEOUT');
        assert.match(e.message, /rank 2 of 3/);
      }
      assert.is(dec.decode(await r.store.read(joinKey(r.key, 'LATEST'))).trim(), first.infos[0].name);
      assert.equal((await listCheckpoints(r.root)).map((c) => c.name), [first.infos[0].name]);
      assert.is((await loadCheckpoint(r.root)).step, 1);
      // The missing rank comes after all: its part completes the set, and it commits.
      const late = await saveCheckpoint(r.root, run.state(2), { rank: 2, worldSize: 3, checkpointId: id });
      assert.equal([late.step, late.latest], [1, true]);
      assert.is((await verify(r.root)).ok, true);
      run.dispose();
    } finally {
      await r.done();
    }
  });
}

for (const [where, make] of Object.entries(roots)) {
  P(`${where}: an Ed25519 private key signs the commit manifest whichever rank commits — verify and load with the public key; another key, or none, is AUTH`, async () => {
    const r = await make();
    const [k, other] = [await generateSigningKey(), await generateSigningKey()];
    const { run, infos } = await saveSharded(r.root, 3, 2, `signed-${runs}`, { privateKey: k.privateKeyPem });
    try {
      const report = await verify(r.root, { publicKey: k.publicKeyPem });
      assert.is(report.signature, 'verified');
      assert.equal(report.signedBy, [k.keyid]);
      const manifest = JSON.parse(dec.decode(await r.store.read(joinKey(joinKey(r.key, infos[0].name), 'checkpoint.json'))));
      assert.is(manifest.parts.length, 3);
      assert.is(manifest.signatures.length, 1, 'one signature, however many ranks wrote the manifest');
      const wrong = await failure(verify(r.root, { publicKey: other.publicKeyPem }));
      assert.is(wrong.code, 'AUTH');
      assert.is(wrong.detail, 'SIGNATURE_WRONG_KEY');
      // Without a key the save commits unsigned, as before: a reader requiring the key refuses it.
      const plain = await saveSharded(r.root, 3, 3, `unsigned-${runs}`);
      plain.run.dispose();
      const missing = await failure(verify(r.root, { publicKey: k.publicKeyPem }));
      assert.is(missing.code, 'AUTH');
      assert.is(missing.detail, 'SIGNATURE_MISSING');
      // A bad key is refused before a rank writes anything: LATEST stays.
      const before = dec.decode(await r.store.read(joinKey(r.key, 'LATEST')));
      const bad = await failure(saveCheckpoint(r.root, run.state(0), { rank: 0, worldSize: 3, checkpointId: `bad-${runs}`, privateKey: 'not a key' }));
      assert.is(bad.code, 'UNSUPPORTED');
      assert.is(dec.decode(await r.store.read(joinKey(r.key, 'LATEST'))), before);
      assert.is((await listCheckpoints(r.root)).length, 2);
    } finally {
      run.dispose();
      await r.done();
    }
  });
}
P('a damaged byte in one part fails verification naming that file, and resume falls back to the previous checkpoint', async () => {
  const r = await roots.store();
  const a = await saveSharded(r.root, 2, 1, `job-${runs}-a`);
  const b = await saveSharded(r.root, 2, 2, `job-${runs}-b`);
  try {
    const file = joinKey(joinKey(r.key, b.infos[0].name), 'rank-00001-of-00002/model.safetensors');
    const bytes = (await r.store.read(file)).slice();
    bytes[bytes.length - 3] ^= 0x10;
    await r.store.write(file, bytes);
    for (const e of [await failure(verify(r.root)), await failure(loadCheckpoint(r.root))]) {
      assert.is(e.code, 'INTEGRITY');
      assert.match(e.message, /rank-00001-of-00002\/model\.safetensors/);
    }
    const whole = TinyLM.create(tf, TEST_CONFIG, { prefix: `p${runs++}/` });
    const res = await resumeTraining(r.root, { model: whole });
    assert.equal([res.step, res.skipped.map((s) => s.code)], [1, ['INTEGRITY']]);
    whole.dispose();
  } finally {
    a.run.dispose();
    b.run.dispose();
    await r.done();
  }
});

P('bad options are UNSUPPORTED (BAD_OPTIONS) before anything is written', async () => {
  const run = shardedRun(2, `p${runs++}/`);
  const { root, done } = await roots.store();
  for (const o of [{ rank: 2, worldSize: 2, checkpointId: 'x' }, { rank: 0, worldSize: 2 }, { rank: 0, worldSize: 0, checkpointId: 'x' },
    { rank: 0, worldSize: 2, checkpointId: 'a/b' }, { rank: 0, worldSize: 2, checkpointId: 'x', async: true }]) {
    const e = await failure(saveCheckpoint(root, run.state(0), o));
    assert.equal([e.code, e.detail], ['UNSUPPORTED', 'BAD_OPTIONS'], JSON.stringify(o));
  }
  assert.equal(await listCheckpoints(root), []);
  run.dispose();
  await done();
});

P('leaves no tensor behind (the test files share one TensorFlow.js)', () => {
  assert.is(tf.memory().numTensors, 0);
});
P.run();

if (runtime === 'node') {
  const N = suite('several writers as processes (fs and S3)');
  const { spawn } = await import('node:child_process');
  const { tempDir } = await import('./_env.js');
  const fs = await import('node:fs/promises');

  function writer(spec) {
    return new Promise((ok, fail) => {
      const child = spawn(process.execPath, ['test/_part-writer.js', JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d) => { out += d; });
      child.stderr.on('data', (d) => { out += d; });
      child.on('error', fail);
      child.on('close', (code, signal) => {
        const line = out.split('\n').find((l) => l.startsWith('RESULT '));
        ok({ code, signal, result: line ? JSON.parse(line.slice(7)) : null, out });
      });
    });
  }

  const places = {
    fs: async () => { const root = await tempDir('safeckpt-parts-'); return { spec: { root }, open: () => root, done: () => fs.rm(root, { recursive: true, force: true }) }; },
    s3: async () => { const o = s3TestOptions(); return { spec: { s3: o }, open: () => new S3Store(o), done: () => new S3Store(o).remove('') }; },
  };
  for (const [where, make] of Object.entries(places)) {
    N(`${where}: 3 processes save their parts; each returns the one committed checkpoint; then a writer SIGKILLed half-way through its part commits nothing and LATEST still loads`, async () => {
      const p = await make();
      try {
        const ok = await Promise.all([0, 1, 2].map((rank) => writer({ ...p.spec, rank, worldSize: 3, id: 'proc-3', steps: 3 })));
        for (const w of ok) assert.ok(w.result?.ok, w.out);
        const name = ok[0].result.name;
        assert.ok(ok.every((w) => w.result.name === name && w.result.step === 3));
        const root = p.open();
        assert.equal((await listCheckpoints(root)).map((c) => [c.name, c.latest]), [[name, true]]);
        // The union equals the replica every process trained.
        const ref = shardedRun(3, `p${runs++}/`);
        for (let i = 0; i < 3; i++) ref.train();
        const whole = TinyLM.create(tf, TEST_CONFIG, { prefix: `p${runs++}/` });
        await loadCheckpoint(root, { model: whole });
        assert.equal(weightBytes(whole), weightBytes(ref.model));
        whole.dispose();
        ref.dispose();

        const killed = await Promise.all([0, 1, 2].map((rank) => writer({ ...p.spec, rank, worldSize: 3, id: 'proc-5', steps: 5, timeoutMs: 3000, ...(rank === 1 ? { dieAt: 'part' } : {}) })));
        assert.is(killed[1].signal, 'SIGKILL', killed[1].out);
        for (const k of [0, 2]) {
          assert.equal([killed[k].result?.code, killed[k].result?.detail], ['IO', 'COMMIT_TIMEOUT'], killed[k].out);
          assert.match(killed[k].result.message, /rank 1 of 3/);
        }
        assert.equal((await listCheckpoints(root)).map((c) => [c.name, c.latest]), [[name, true]], 'nothing half-committed is listed');
        assert.is((await loadCheckpoint(root)).step, 3);
        assert.is((await verify(root)).ok, true);
      } finally {
        await p.done();
      }
    });
  }
  N.run();
}

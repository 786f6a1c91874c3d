// Training checkpoints on S3 (Ceph RGW from test/run.js, SAFECKPT_TEST_S3_*):
// committed without a rename — files into a folder of the save's own, then
// LATEST by a conditional PUT — so that of two writers exactly one wins; load,
// verify, list, retention and resume (falling back past damage) as on fs; and
// the CLI on s3:// URLs.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { S3Store, MemoryStore, writeSafetensors, saveCheckpoint, loadCheckpoint, resumeTraining, listCheckpoints, verify, isTempKey, hashEngine, setHashEngine, removeAbandoned, ABANDONED_AFTER_MS, baseOf } from '../dist/internal.js';
import { TinyLM } from '../dist/demo/index.js';
import { tf, ready, BATCH, VOCAB, freshRun, weightBytes, TEST_CONFIG, OPTIMIZERS, disposeOptimizer } from './_tiny.js';
import { hasFs, runtime, s3TestOptions } from './_env.js';

await ready;
const dec = new TextDecoder();

async function failure(p) {
  try { await p; } catch (e) { return e; }
  throw new Error('expected a failure, but it succeeded');
}

/** Trains `steps` from scratch and saves to `root`; returns the info and the weights' bytes. */
let runs = 0;
async function trainAndSave(root, steps, opts = {}) {
  // Own variable names: tfjs registers them globally, and two saves may run at once here.
  const r = freshRun('adam', TEST_CONFIG, `s3run${runs++}/`);
  const losses = r.loop.run(steps);
  try {
    const info = await saveCheckpoint(root, {
      model: r.model, optimizer: r.opt, step: r.loop.step, config: { lr: 0.01, ...BATCH }, vocab: VOCAB, rng: { seed: 3 },
      dataCursor: r.loop.sampler.state(), metadata: { model_name: 'tiny-s3' }, metrics: { loss: losses[losses.length - 1] },
    }, opts);
    return { info, weights: weightBytes(r.model) };
  } finally {
    r.dispose();
  }
}

function fresh() {
  return { model: TinyLM.create(tf, TEST_CONFIG, { prefix: `s3fresh${runs++}/` }), opt: OPTIMIZERS.adam() };
}

/** Loads `root` into a fresh model; returns the loaded facts and the weights' bytes. */
async function loadFresh(root, how = loadCheckpoint) {
  const f = fresh();
  try {
    const loaded = await how(root, { model: f.model, optimizer: f.opt });
    return { loaded, weights: weightBytes(f.model) };
  } finally {
    f.model.dispose();
    disposeOptimizer(f.opt);
  }
}

const C = suite('checkpoints on S3: commit by a conditional PUT of LATEST');
C('a save writes its own folder (no temporary, no copy) and LATEST names it; load restores it bit-identically; verify and list agree', async () => {
  const s = new S3Store(s3TestOptions());
  const a = await trainAndSave(s, 2);
  const b = await trainAndSave(s, 3);
  assert.match(b.info.name, /^step-00000003-[0-9a-f]{8}$/);
  assert.is(dec.decode(await s.read('LATEST')), b.info.name + '\n');
  const keys = (await s.list(b.info.name)).map((e) => e.key.slice(b.info.name.length + 1));
  assert.equal(keys, ['checkpoint.json', 'model.safetensors', 'model.safetensors.meta.json', 'optimizer.safetensors',
    'optimizer.safetensors.meta.json', 'trainer_state.json', 'vocab.json']);
  assert.equal((await s.list('')).map((e) => e.key).filter(isTempKey), []);
  const { loaded, weights } = await loadFresh(s);
  assert.is(loaded.step, 3);
  assert.equal(weights, b.weights, 'weights bit-identical');
  assert.is((await verify(s)).ok, true);
  const list = await listCheckpoints(s);
  assert.equal(list.map((c) => [c.name, c.latest]), [[a.info.name, false], [b.info.name, true]]);
  await s.remove('');
});
C('two writers racing from the same LATEST: exactly one commits, the other fails CONFLICT and leaves nothing behind', async () => {
  const s = new S3Store(s3TestOptions());
  await trainAndSave(s, 1);
  const results = await Promise.allSettled([trainAndSave(s, 2), trainAndSave(new S3Store(s3TestOptions(s.prefix)), 3)]);
  const won = results.filter((r) => r.status === 'fulfilled');
  const lost = results.filter((r) => r.status === 'rejected');
  assert.is(won.length, 1, results.map((r) => r.reason?.message ?? 'ok').join(' | '));
  assert.is(lost[0].reason.code, 'IO');
  assert.is(lost[0].reason.detail, 'CONFLICT');
  assert.match(lost[0].reason.message, /another writer/);
  const winner = won[0].value.info.name;
  assert.is(dec.decode(await s.read('LATEST')).trim(), winner);
  assert.equal((await listCheckpoints(s)).map((c) => c.step), [1, won[0].value.info.step], "the loser's folder was removed");
  assert.is((await loadFresh(s)).loaded.step, won[0].value.info.step);
  await s.remove('');
});
C('the memory store commits LATEST by the same compare-and-swap', async () => {
  const m = new MemoryStore();
  await trainAndSave(m, 1);
  const results = await Promise.allSettled([trainAndSave(m, 2), trainAndSave(m, 3)]);
  assert.is(results.filter((r) => r.status === 'fulfilled').length, 1);
  assert.is(results.find((r) => r.status === 'rejected').reason.detail, 'CONFLICT');
});
C('resume falls back past a damaged newest checkpoint, as on fs; retention removes only what LATEST does not name', async () => {
  const s = new S3Store(s3TestOptions());
  const a = await trainAndSave(s, 2);
  const b = await trainAndSave(s, 4);
  const model = await s.read(`${b.info.name}/model.safetensors`);
  const bad = model.slice();
  bad[bad.length - 5] ^= 0xff;
  await s.write(`${b.info.name}/model.safetensors`, bad);
  const resumed = (await loadFresh(s, resumeTraining)).loaded;
  assert.is(resumed.step, 2);
  assert.equal(resumed.skipped.map((x) => [x.name, x.code]), [[b.info.name, 'INTEGRITY']]);
  // keepLast: 1 keeps the newest by step and the one LATEST names (here the same), removing the rest.
  const c = await trainAndSave(s, 5, { retention: { keepLast: 1 } });
  assert.equal(c.info.removed?.sort(), [a.info.name, b.info.name].sort());
  assert.equal((await listCheckpoints(s)).map((x) => x.name), [c.info.name]);
  await s.remove('');
});
C('a writer killed before its PUT of LATEST leaves a complete folder that is not a checkpoint: not listed, not resumed from; the next save commits past it', async () => {
  const s = new S3Store(s3TestOptions());
  const a = await trainAndSave(s, 2);
  // Dies at the commit: the conditional PUT of LATEST never happens, and nothing is cleaned up after it.
  const dying = new Proxy(new S3Store(s3TestOptions(s.prefix)), {
    get(t, p) {
      if (p === 'writeIf') return () => Promise.reject(new Error('killed'));
      if (p === 'remove') return async () => {};
      const v = Reflect.get(t, p);
      return typeof v === 'function' ? v.bind(t) : v;
    },
  });
  await failure(trainAndSave(dying, 3));
  const orphan = (await s.list('')).map((e) => e.key).find((k) => k.startsWith('step-00000003-'));
  assert.ok(orphan, 'the killed save left its folder');
  assert.ok(await s.exists(`${orphan}/checkpoint.json`), 'complete, manifest and all');
  assert.equal((await listCheckpoints(s)).map((c) => c.name), [a.info.name]);
  const resumed = (await loadFresh(s, resumeTraining)).loaded;
  assert.equal([resumed.step, resumed.skipped], [2, []]);
  const b = await trainAndSave(s, 4);
  assert.equal((await listCheckpoints(s)).map((c) => [c.name, c.latest]), [[a.info.name, false], [b.info.name, true]]);
  await s.remove('');
});
C('leaves no tensor behind (the test files share one TensorFlow.js)', () => {
  assert.is(tf.memory().numTensors, 0);
});
C('a save that never committed: its folder goes once untouched for the safe age (a day) — never sooner, never while an upload in it is open, never a committed one', async () => {
  const o = s3TestOptions();
  const s = new S3Store({ ...o, partSize: 5 << 20 });
  const a = await trainAndSave(s, 2);
  const b = await trainAndSave(s, 3);
  // A writer killed after its files and manifest, before its PUT of LATEST: a complete folder, never committed.
  const dead = 'step-00000004-0badc0de';
  for (const e of await s.list(b.info.name)) if (!e.isDirectory) await s.write(`${dead}/${baseOf(e.key)}`, await s.read(e.key));
  // Writers killed mid-upload (complete and abort never arrive): one with a file already in its folder, one with none.
  const killed = (url, init) => ((init.method === 'POST' || init.method === 'DELETE') && /uploadId=/.test(url) ? Promise.reject(new TypeError('killed')) : fetch(url, init));
  const uploading = 'step-00000005-0badf00d';
  await s.write(`${uploading}/trainer_state.json`, new TextEncoder().encode('{}'));
  const upload = async (key) => failure(new S3Store({ ...o, fetch: killed, retries: 1, partSize: 5 << 20 }).write(key, (async function* () { yield new Uint8Array(6 << 20); })()));
  await new Promise((r) => setTimeout(r, 3000)); // the open upload is then seconds younger than the folder's object
  await upload(`${uploading}/model.safetensors`);
  const bare = 'step-00000006-0badbeef';
  await upload(`${bare}/model.safetensors`);
  const uploads = await s.listUploads();
  assert.is(uploads.length, 2);
  const started = uploads.find((u) => u.key.startsWith(uploading)).initiated.getTime();
  const folders = async () => (await s.list('')).filter((e) => e.isDirectory).map((e) => baseOf(e.key)).sort();
  assert.equal(await folders(), [a.info.name, b.info.name, 'commits', dead, uploading].sort());

  // Young (the default age is a day): a resume lists, removes and resumes from none of them.
  const r1 = await loadFresh(s, resumeTraining);
  assert.is(r1.loaded.name, b.info.name);
  assert.equal(r1.loaded.cleaned, []);
  assert.equal(await folders(), [a.info.name, b.info.name, 'commits', dead, uploading].sort());
  // Its object older than the age but its upload not: that folder is kept, the other goes.
  assert.equal(await removeAbandoned(s, '', { olderThanMs: 2500, now: started + 1000 }), [dead]);
  assert.equal(await folders(), [a.info.name, b.info.name, 'commits', uploading].sort());
  assert.is((await s.listUploads()).length, 2, 'the open uploads are left alone while young');
  // A day and more later by the clock resume is given: the rest goes, uploads aborted; the committed ones stay.
  const later = () => new Date(Date.now() + ABANDONED_AFTER_MS + 60_000);
  const r2 = await loadFresh(s, (root, opts) => resumeTraining(root, { ...opts, now: later }));
  assert.is(r2.loaded.name, b.info.name);
  assert.equal(r2.loaded.cleaned, [uploading]);
  assert.equal(await folders(), [a.info.name, b.info.name, 'commits'].sort());
  assert.equal(await s.listUploads(), []);
  assert.equal((await listCheckpoints(s)).map((c) => c.name), [a.info.name, b.info.name]);
  assert.is((await verify(s)).ok, true);
  // Retention (given a policy) applies the same rule after a save.
  for (const e of await s.list(b.info.name)) if (!e.isDirectory) await s.write(`${dead}/${baseOf(e.key)}`, await s.read(e.key));
  await trainAndSave(s, 7, { retention: { keepLast: 5, abandonedAfterMs: 0 } });
  assert.not.ok((await folders()).includes(dead));
  await s.remove('');
});
C('a load hashes every byte once: each file against the manifest as it downloads, the tensors not again (S3 and memory)', async () => {
  // A 12 MiB model: the S3 store reads it as parallel part-sized GETs, hashing in order as they arrive.
  // tidy: the initial values go, the variables stay (the test files share one tfjs engine and count tensors).
  const [w, into] = tf.tidy(() => [tf.variable(tf.randomUniform([3 << 18, 4], -1, 1, 'float32', 5), true, `s3once${runs++}`), tf.variable(tf.zeros([3 << 18, 4]), true, `s3once${runs++}`)]);
  const engine = hashEngine();
  for (const store of [new S3Store({ ...s3TestOptions(), partSize: 5 << 20 }), new MemoryStore()]) {
    const info = await saveCheckpoint(store, { model: { w }, step: 1 });
    // Every file the manifest lists (checkpoint.json itself is parsed, not hashed).
    const files = (await store.list(info.name)).filter((f) => !f.key.endsWith('checkpoint.json'));
    const total = files.reduce((a, f) => a + f.size, 0);
    let hashed = 0;
    await setHashEngine({ name: 'counting', createSha256() {
      const h = engine.createSha256();
      return { update(d) { hashed += typeof d === 'string' ? d.length : d.length; h.update(d); return this; }, digest: () => h.digest() };
    } });
    try {
      await loadCheckpoint(store, { model: { w: into } });
    } finally {
      await setHashEngine(null);
    }
    assert.ok(total > 12 << 20 && hashed >= total && hashed < total * 1.05, `${store.kind}: hashed ${hashed} bytes for ${total} bytes of files (twice would be ${2 * total})`);
    assert.equal(new Uint8Array(into.dataSync().buffer), new Uint8Array(w.dataSync().buffer), `${store.kind}: restored bit for bit`);
    tf.tidy(() => into.assign(tf.zerosLike(into)));
    // A changed byte is still found: the manifest's hash of the file.
    const model = `${info.name}/model.safetensors`;
    const bytes = (await store.read(model)).slice();
    bytes[bytes.length - 3] ^= 1;
    await store.write(model, bytes);
    const e = await failure(loadCheckpoint(store, { model: { w: into } }));
    assert.is(e.code, 'INTEGRITY');
    assert.is(e.detail, 'HASH_MISMATCH');
    assert.match(e.message, /model\.safetensors/);
    await store.remove('');
  }
  w.dispose();
  into.dispose();
});
C('a save read out of TensorFlow.js piece by piece into one reused buffer gives the files and sidecars of a save to memory, whatever the part size; its parts are filled in at most partsInFlight + 1 buffers', async () => {
  // 21 MiB + odd sizes: write pieces (8 MiB) that straddle parts and tensors, chunk digests (tensors over 16 MiB).
  const [a, b, c] = tf.tidy(() => [
    tf.variable(tf.randomUniform([(5 << 20) + 3], -1, 1, 'float32', 7), true, `s3reuse${runs++}`),
    tf.variable(tf.randomUniform([1001, 7], -1, 1, 'float32', 8), true, `s3reuse${runs++}`),
    tf.variable(tf.randomUniform([1 << 18, 1], -1, 1, 'float32', 9), true, `s3reuse${runs++}`),
  ]);
  const model = { 'a.weight': a, 'b.weight': b, 'c.bias': c };
  const now = () => new Date('2026-12-06T22:00:00Z');
  const mem = new MemoryStore();
  const m = await saveCheckpoint(mem, { model, step: 5 }, { now });
  for (const [partSize, partsInFlight] of [[5 << 20, 2], [7 << 20, 3]]) {
    const bodies = [];
    const fetchParts = async (url, init) => {
      if (/[?&]partNumber=/.test(String(url))) bodies.push(init.body);
      return fetch(url, init);
    };
    const s = new S3Store({ ...s3TestOptions(), partSize, partsInFlight, fetch: fetchParts });
    const info = await saveCheckpoint(s, { model, step: 5 }, { now });
    for (const f of ['model.safetensors', 'model.safetensors.meta.json']) {
      assert.equal(await s.read(`${info.name}/${f}`), await mem.read(`${m.name}/${f}`), `${partSize}: ${f} byte for byte`);
    }
    assert.ok(bodies.length >= 4, `${bodies.length} parts`);
    assert.ok(new Set(bodies.map((x) => x.buffer)).size <= partsInFlight + 1, `${new Set(bodies.map((x) => x.buffer)).size} part buffers`);
    assert.is((await verify(s)).ok, true);
    assert.equal(await s.listUploads(), []);
    await s.remove('');
  }
  for (const v of [a, b, c]) v.dispose();
});
C('a write to S3 of 64 MiB or more hashes on workers by default, each piece copied once into shared memory: this thread digests none of its bytes, the sidecar is the one-thread write\'s; below 64 MiB, or with workers: 0, this thread hashes every byte', async () => {
  const s = new S3Store({ ...s3TestOptions(), partSize: 5 << 20 });
  const big = new Uint8Array((64 << 20) + 8);
  for (let i = 0; i < big.length; i += 4096) big[i] = i >> 12;
  const small = big.subarray(0, (63 << 20) + 8);
  const engine = hashEngine();
  let hashed = 0;
  const counted = async (data, opts = {}) => {
    hashed = 0;
    await setHashEngine({ name: 'counting', createSha256() {
      const h = engine.createSha256();
      return { update(d) { hashed += d.length; h.update(d); return this; }, digest: () => h.digest() };
    } });
    try {
      const r = await writeSafetensors({ store: s, key: 'm.safetensors' }, { t: { dtype: 'U8', shape: [data.length], data } }, opts);
      assert.is(r.size, await s.size('m.safetensors'));
    } finally {
      await setHashEngine(null);
    }
    return hashed;
  };
  const mem = new MemoryStore();
  await writeSafetensors({ store: mem, key: 'm.safetensors' }, { t: { dtype: 'U8', shape: [big.length], data: big } }, { workers: 0 });
  // workerd has SharedArrayBuffer but no workers: there, as without shared memory, this thread hashes.
  const onWorkers = typeof SharedArrayBuffer === 'function' && runtime !== 'workerd';
  const here = await counted(big);
  if (onWorkers) assert.ok(here < 1 << 20, `hashed here: ${here} bytes of ${big.length} (only the header and the small requests)`);
  else assert.ok(here >= 3 * big.length, `no shared memory: hashed here ${here} bytes`);
  assert.equal(await s.read('m.safetensors.meta.json'), await mem.read('m.safetensors.meta.json'));
  assert.is((await verify({ store: s, key: 'm.safetensors' })).ok, true);
  assert.ok(await counted(big, { workers: 0 }) >= 3 * big.length, 'workers: 0 hashes here');
  const below = await counted(small);
  assert.ok(below >= 3 * small.length, `hashed here: ${below} bytes (the file's, the tensor's and its chunks' digests of ${small.length})`);
  await s.remove('');
});
C.run();

if (hasFs) {
  const Cli = suite('the CLI on s3:// URLs (credentials from AWS_* variables)');
  const { spawnSync } = await import('node:child_process');
  Cli('verify and inspect a checkpoint and a model file by s3:// URL', async () => {
    const o = s3TestOptions();
    const s = new S3Store(o);
    const { info } = await trainAndSave(s, 2);
    const env = {
      ...process.env, AWS_ENDPOINT_URL: o.endpoint, AWS_REGION: o.region,
      AWS_ACCESS_KEY_ID: o.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: o.credentials.secretAccessKey,
    };
    const cli = (...args) => {
      const r = globalThis.Deno
        ? spawnSync(Deno.execPath(), ['run', '-A', '--quiet', 'dist/cli/main.js', ...args], { env, encoding: 'utf8' })
        : spawnSync(process.execPath, ['dist/cli/main.js', ...args], { env, encoding: 'utf8' });
      const last = r.stdout.trim().split('\n').pop();
      return { status: r.status, json: last?.startsWith('{') ? JSON.parse(last) : null, out: r.stdout + r.stderr };
    };
    const root = `s3://${o.bucket}/${o.prefix}`;
    const v = cli('verify', root, '--json');
    assert.is(v.status, 0, v.out);
    assert.is(v.json.ok, true);
    const i = cli('inspect', `${root}/${info.name}/model.safetensors`, '--json');
    assert.is(i.status, 0, i.out);
    assert.ok(i.json.tensors.length > 0);
    // A killed writer's multipart upload, left behind; the command aborts it.
    const dead = (url, init) => ((init.method === 'POST' || init.method === 'DELETE') && /uploadId=/.test(url) ? Promise.reject(new TypeError('killed')) : fetch(url, init));
    await failure(new S3Store({ ...o, fetch: dead, retries: 1, partSize: 5 << 20 }).write('orphan', (async function* () { yield new Uint8Array(6 << 20); })()));
    assert.is((await s.listUploads()).length, 1);
    const a = cli('abort-uploads', root, '--json');
    assert.is(a.status, 0, a.out);
    assert.equal(a.json.aborted.map((u) => u.key), ['orphan']);
    assert.equal(await s.listUploads(), []);
    const bad = cli('verify', `s3://${o.bucket}/${o.prefix}/nothing-here`, '--json');
    assert.is(bad.status, 1, bad.out);
    assert.is(bad.json.code, 'NOT_FOUND');
    await s.remove('');
  });
  Cli.run();
}

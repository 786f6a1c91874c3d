// `safeckpt inspect` on every source: a remote file (its header by range only,
// and --digests by large ranged reads — checked in nginx's log), a sharded
// model by its index or its folder, locally and over HTTP.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writeSafetensors, saveCheckpoint } from '../dist/index.js';
import { isBrowser, runtime, tempDir, testEnv, serveFile, nginxLog, nginxRequests, platformSha256Hex, rng, randomBytes } from './_env.js';

const I = suite('safeckpt inspect: remote files, sharded models, folders');
if (!isBrowser) {
  const { spawnSync } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const fs = await import('node:fs/promises');
  const root = fileURLToPath(new URL('..', import.meta.url));
  const node = runtime === 'node' ? process.execPath : 'node';
  const cli = (...args) => {
    const r = spawnSync(node, ['dist/cli/main.js', 'inspect', ...args], { cwd: root, encoding: 'utf8' });
    let json = null;
    try { json = JSON.parse(r.stdout.trimEnd().split('\n').pop()); } catch {}
    return { code: r.status, out: r.stdout, err: r.stderr, json };
  };

  const next = rng(11);
  const tensors = {
    'big': { dtype: 'F32', shape: [512, 512], data: randomBytes(1 << 20, next) },
    'mid.weight': { dtype: 'BF16', shape: [64, 64], data: randomBytes(8192, next) },
    'small': { dtype: 'I8', shape: [7], data: randomBytes(7, next) },
  };
  const dir = await tempDir();
  const single = await writeSafetensors(`${dir}/one/model.safetensors`, tensors, { metadata: { note: 'inspect me' } });
  const sharded = await writeSafetensors(`${dir}/many/model.safetensors`, tensors, { maxShardSize: 600_000 });
  const rel = `inspect-${runtime}-${Date.now()}`;
  for (const sub of ['one', 'many']) {
    for (const f of await fs.readdir(`${dir}/${sub}`)) await serveFile(`${rel}/${sub}/${f}`, await fs.readFile(`${dir}/${sub}/${f}`));
  }
  const http = `${testEnv('SAFECKPT_TEST_HTTP')}/${rel}`;
  const local = cli(`${dir}/one/model.safetensors`, '--json', '--digests').json;
  const requestsFor = async (before, path) => nginxRequests((await nginxLog()).slice(before)).filter((q) => q.path === path);

  I('a URL: only the header is fetched (nginx: ranges inside the header), the report equals the local one', async () => {
    const before = (await nginxLog()).length;
    const r = cli(`${http}/one/model.safetensors`, '--json');
    assert.is(r.code, 0, r.err);
    const dataStart = r.json.details.dataStart;
    const reqs = await requestsFor(before, `/${rel}/one/model.safetensors`);
    const gets = reqs.filter((q) => q.method === 'GET');
    assert.ok(gets.length > 0 && gets.every((q) => q.status === 206 && q.range && q.range[1] <= dataStart), JSON.stringify(reqs));
    const sent = reqs.reduce((a, q) => a + q.bytes, 0);
    assert.ok(sent <= dataStart + 64, `nginx sent ${sent} bytes; the header is ${dataStart}`);
    assert.equal(r.json.tensors.map((t) => [t.name, t.dtype, t.shape, t.byteLength, t.offsets]), local.tensors.map((t) => [t.name, t.dtype, t.shape, t.byteLength, t.offsets]));
    assert.equal([r.json.size, r.json.metadata], [single.size, { note: 'inspect me' }]);
  });

  I('a URL with --digests: the data region in one ranged pass, the digests of every tensor', async () => {
    const before = (await nginxLog()).length;
    const r = cli(`${http}/one/model.safetensors`, '--json', '--digests');
    assert.is(r.code, 0, r.err);
    for (const t of r.json.tensors) assert.is(t.sha256, await platformSha256Hex(tensors[t.name].data), t.name);
    assert.equal(r.json.tensors, local.tensors);
    const dataStart = r.json.details.dataStart;
    const data = (await requestsFor(before, `/${rel}/one/model.safetensors`)).filter((q) => q.range && q.range[1] > dataStart);
    assert.equal(data.map((q) => [q.status, q.range, q.bytes]), [[206, [dataStart, single.size], single.size - dataStart]], 'one request for all the data, none twice');
  });

  I('a sharded model by its index or its folder, local or remote: one report, each tensor with its shard', async () => {
    assert.is(sharded.shards.length, 2);
    const sources = [`${dir}/many/model.safetensors.index.json`, `${dir}/many`, `${http}/many/model.safetensors.index.json`, `${http}/many/`];
    const reports = sources.map((s) => cli(s, '--json', '--digests'));
    for (const [i, r] of reports.entries()) {
      assert.is(r.code, 0, `${sources[i]}: ${r.err}`);
      assert.is(r.json.format, 'safetensors-sharded');
      assert.is(r.json.size, sharded.size);
      assert.equal(r.json.details.shards, 2);
      assert.equal({ ...r.json, path: '' }, { ...reports[0].json, path: '' }, sources[i]);
    }
    const byName = Object.fromEntries(reports[0].json.tensors.map((t) => [t.name, t]));
    assert.equal(Object.keys(byName).sort(), Object.keys(tensors).sort());
    for (const [n, t] of Object.entries(byName)) {
      assert.is(t.sha256, sharded.tensors[n] ?? local.tensors.find((x) => x.name === n).sha256, n);
      assert.ok(sharded.shards.some((s) => s.path.endsWith('/' + t.file) && n in s.tensors), `${n} is in ${t.file}`);
    }
    const text = cli(`${dir}/many`).out;
    assert.ok(text.includes('safetensors-sharded, 3 tensors') && text.includes('  shards: 2') && text.includes('model-00001-of-00002.safetensors'), text);
  });

  I('a training checkpoint root: its LATEST checkpoint, step, model, lineage, files, model and optimizer tensors', async () => {
    const { freshRun, ready } = await import('./_tiny.js');
    await ready;
    const ckpt = await tempDir('safeckpt-inspect-ckpt-');
    const t = freshRun('adam');
    try {
      t.loop.run(1);
      await saveCheckpoint(ckpt, { model: t.model, optimizer: t.opt, step: 1, metrics: { loss: 3.5 } }, { key: 'k', keyId: 'ci' });
    } finally {
      t.dispose();
    }
    const r = cli(ckpt, '--json', '--digests');
    assert.is(r.code, 0, r.err);
    assert.equal([r.json.format, r.json.details.step, r.json.details.signed], ['checkpoint', 1, 'yes (key_id ci)']);
    assert.ok(r.json.path.endsWith('step-00000001'), r.json.path);
    assert.equal([r.json.details.model_name, r.json.details.architecture_type, r.json.details.source], ['custom-transformer', 'custom-transformer', 'custom']);
    assert.match(r.json.details.lineage, /^custom-transformer \(custom, started \d{4}-\d\d-\d\dT[^)]+\)$/);
    const files = new Set(r.json.tensors.map((x) => x.file));
    assert.equal([...files].sort(), ['model.safetensors', 'optimizer.safetensors']);
    for (const f of files) {
      const side = JSON.parse(await fs.readFile(`${ckpt}/step-00000001/${f}.meta.json`, 'utf8'));
      const mine = r.json.tensors.filter((x) => x.file === f);
      assert.equal(mine.map((x) => [x.name, x.sha256]), Object.keys(side.tensors).map((n) => [n, side.tensors[n].sha256]).sort((a, b) => mine.findIndex((x) => x.name === a[0]) - mine.findIndex((x) => x.name === b[0])), f);
    }
    const text = cli(ckpt).out;
    assert.ok(text.includes('checkpoint, ') && text.includes('  step: 1') && text.includes('  lineage: ') && text.includes('metrics: loss=3.5'), text);
  });

  I('a folder without a model is NOT_FOUND; a weight_map that disagrees with the shards is CORRUPT naming the tensor', async () => {
    const empty = await tempDir();
    await fs.writeFile(`${empty}/notes.txt`, 'no weights here');
    let r = cli(empty, '--json');
    assert.equal([r.code, r.json.code], [1, 'NOT_FOUND']);
    assert.ok(r.json.message.includes(empty), r.json.message);
    const idx = JSON.parse(await fs.readFile(`${dir}/many/model.safetensors.index.json`, 'utf8'));
    const moved = Object.keys(idx.weight_map)[0];
    const other = Object.values(idx.weight_map).find((f) => f !== idx.weight_map[moved]);
    idx.weight_map[moved] = other;
    await fs.writeFile(`${dir}/many/broken.safetensors.index.json`, JSON.stringify(idx));
    r = cli(`${dir}/many/broken.safetensors.index.json`, '--json');
    assert.equal([r.code, r.json.code, r.json.tensor], [1, 'CORRUPT', moved]);
  });
}
I.run();

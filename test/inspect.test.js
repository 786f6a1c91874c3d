import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { isBrowser, runtime, readRepoJson, listRepoDir, testEnv } from './_env.js';

// The CLI is a Node program: it is run from Node and Deno as a child process
// (`node dist/cli/main.js`), as users run it. Browsers have no CLI.
const DIR = 'test/fixtures/reference/safetensors';

async function cli(...args) {
  const { spawnSync } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const root = fileURLToPath(new URL('..', import.meta.url));
  const node = runtime === 'node' ? process.execPath : 'node';
  const r = spawnSync(node, ['dist/cli/main.js', 'inspect', ...args], { cwd: root, encoding: 'utf8' });
  const lines = r.stdout.trimEnd().split('\n');
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, last: lines[lines.length - 1] };
}
const lastJson = (r) => JSON.parse(r.last);

const I = suite('safeckpt inspect');
if (!isBrowser) {
  I('--json --digests lists every tensor of every valid fixture as the reference wrote it', async () => {
    const files = (await listRepoDir(`${DIR}/valid`)).filter((f) => f.endsWith('.safetensors'));
    for (const f of files) {
      const want = await readRepoJson(`${DIR}/valid/${f.replace(/\.safetensors$/, '.expected.json')}`);
      const r = await cli(`${DIR}/valid/${f}`, '--json', '--digests');
      assert.is(r.code, 0, `${f}: ${r.stderr}`);
      const out = lastJson(r);
      assert.is(out.ok, true);
      assert.is(out.format, 'safetensors');
      assert.is(out.size, want.size);
      assert.equal(out.metadata, want.metadata, f);
      assert.equal(out.tensors.map((t) => t.name).sort(), Object.keys(want.tensors).sort(), f);
      for (const t of out.tensors) {
        const w = want.tensors[t.name];
        assert.equal([t.dtype, t.shape, t.byteLength, t.offsets, t.sha256], [w.dtype, w.shape, w.nbytes, w.data_offsets, w.sha256], `${f}: ${t.name}`);
      }
    }
  });
  I('without --digests no tensor byte is hashed, and the text report names dtypes, shapes, sizes and metadata', async () => {
    const j = lastJson(await cli(`${DIR}/valid/metadata.safetensors`, '--json'));
    assert.ok(j.tensors.every((t) => t.sha256 === undefined));
    const r = await cli(`${DIR}/valid/metadata.safetensors`);
    assert.is(r.code, 0);
    assert.match(r.stdout, /safetensors, 2 tensors, 260 B/);
    assert.match(r.stdout, /dtypes: F32 × 1 \(24 B\), F16 × 1 \(4 B\)/);
    assert.match(r.stdout, /author: "fixture-generator"/);
    assert.match(r.stdout, /\n {2}w +F32 +\[2, 3\] +24\n/);
  });
  I('a bad file exits 1 with {"ok":false,"code","message"} as the last line, detail as the reference names it', async () => {
    for (const [f, code, detail] of [
      ['crafted/gap_between_tensors.safetensors', 'CORRUPT', 'INVALID_OFFSET'],
      ['crafted/header_len_u64_max.safetensors', 'CORRUPT', 'HEADER_TOO_LARGE'],
      ['crafted/file_shorter_than_8_bytes.safetensors', 'CORRUPT', 'HEADER_TOO_SMALL'],
      ['crafted/unknown_dtype.safetensors', 'UNSUPPORTED', 'INVALID_HEADER_DESERIALIZATION'],
    ]) {
      const r = await cli(`${DIR}/${f}`, '--json');
      assert.is(r.code, 1, f);
      const out = lastJson(r);
      assert.is(out.ok, false);
      assert.is(out.code, code, f);
      assert.is(out.detail, detail, f);
      assert.match(out.message, f);
    }
    const t = await cli(`${DIR}/crafted/overlapping_offsets.safetensors`);
    assert.is(t.code, 1);
    assert.match(t.stderr, /CORRUPT: .*tensor "b": data_offsets \[8, 24\]/);
  });
  I('a missing file is NOT_FOUND; a wrong invocation exits 2 with the usage', async () => {
    assert.is(lastJson(await cli('no/such/file.safetensors', '--json')).code, 'NOT_FOUND');
    const r = await cli();
    assert.is(r.code, 2);
    assert.match(r.stderr, /usage: safeckpt inspect <file\|dir\|url>/);
    assert.is((await cli('a', '--bogus')).code, 2);
  });
  I('reads a file over HTTP with range requests', async () => {
    const base = testEnv('SAFECKPT_TEST_HTTP');
    const r = await cli(`${base}/fixtures/reference/safetensors/valid/state_dict_f32.safetensors`, '--json');
    assert.is(r.code, 0, r.stderr);
    assert.is(lastJson(r).tensors.length, 7);
  });
}
I.run();

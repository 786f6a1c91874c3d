// The `safeckpt verify` and `safeckpt sign` commands as a user runs them: exit
// codes 0/1/2, --json as the last line, the key only from the environment.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writeSafetensors } from '../dist/index.js';
import { runtime, tempDir, readRepoFile, testEnv } from './_env.js';

const C = suite('CLI verify / sign');
if (runtime === 'node' || runtime === 'bun') {
  const { spawnSync } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const fs = await import('node:fs/promises');
  const cli = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
  const run = (args, env = {}) => {
    const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
    const lines = r.stdout.trim().split('\n');
    return { status: r.status, out: r.stdout, err: r.stderr, json: (() => { try { return JSON.parse(lines[lines.length - 1]); } catch { return null; } })() };
  };

  C('sign then verify a reference-made file; the key comes only from --key-env', async () => {
    const dir = await tempDir();
    const f = `${dir}/w.safetensors`;
    await fs.writeFile(f, await readRepoFile('test/fixtures/reference/safetensors/valid/state_dict_f32.safetensors'));
    let r = run(['verify', f, '--json']);
    assert.is(r.status, 0, r.err);
    assert.equal([r.json.ok, r.json.sidecar, r.json.hmac], [true, 'missing', 'unsigned']);
    assert.is(run(['verify', f, '--strict', '--json']).json.code, 'INTEGRITY');
    r = run(['sign', f, '--key-env', 'SAFECKPT_K', '--key-id', 'ci'], { SAFECKPT_K: 'sekrit' });
    assert.is(r.status, 0, r.err);
    assert.not.ok((await fs.readFile(`${f}.meta.json`, 'utf8')).includes('sekrit'));
    r = run(['verify', f, '--key-env', 'SAFECKPT_K', '--json'], { SAFECKPT_K: 'sekrit' });
    assert.equal([r.status, r.json.hmac, r.json.keyId], [0, 'verified', 'ci']);
    r = run(['verify', f, '--key-env', 'SAFECKPT_K', '--json'], { SAFECKPT_K: 'wrong' });
    assert.equal([r.status, r.json.ok, r.json.code], [1, false, 'AUTH']);
    r = run(['verify', f]);
    assert.ok(r.out.includes('present, not checked'), r.out);
    assert.not.ok(r.err.includes('['), 'no progress bar when stderr is not a terminal');
  });
  C('exit 1 with the code for NOT_FOUND, CORRUPT and INTEGRITY; exit 2 for usage errors', async () => {
    const dir = await tempDir();
    let r = run(['verify', `${dir}/absent.safetensors`, '--json']);
    assert.equal([r.status, r.json.code], [1, 'NOT_FOUND']);
    assert.ok(r.json.message.includes('absent.safetensors'));
    await fs.writeFile(`${dir}/html.safetensors`, '<html>502 Bad Gateway</html>');
    assert.equal(run(['verify', `${dir}/html.safetensors`, '--json']).json.code, 'CORRUPT');
    await writeSafetensors(`${dir}/m.safetensors`, { x: { dtype: 'U8', shape: [4], data: Uint8Array.of(1, 2, 3, 4) } });
    const b = await fs.readFile(`${dir}/m.safetensors`);
    b[b.length - 1] ^= 1;
    await fs.writeFile(`${dir}/m.safetensors`, b);
    r = run(['verify', `${dir}/m.safetensors`, '--json']);
    assert.equal([r.status, r.json.code, r.json.tensor], [1, 'INTEGRITY', 'x']);
    assert.is(run(['verify']).status, 2);
    assert.is(run(['verify', 'a', '--bogus']).status, 2);
    assert.is(run(['sign', `${dir}/m.safetensors`]).status, 2);
    assert.is(run(['sign', `${dir}/m.safetensors`, '--key-env', 'SAFECKPT_UNSET_VAR']).status, 2);
  });
  C('--whole-file recomputes the sidecar\'s whole-file SHA-256: a stale one is exit 1 INTEGRITY FILE_HASH_MISMATCH; by default it is shown as recorded', async () => {
    const dir = await tempDir();
    const f = `${dir}/m.safetensors`;
    await writeSafetensors(f, { x: { dtype: 'U8', shape: [4], data: Uint8Array.of(1, 2, 3, 4) } });
    let r = run(['verify', f]);
    assert.match(r.out, /every byte matches the sidecar \(sha256 [0-9a-f]{64}, as recorded\)/);
    r = run(['verify', f, '--whole-file', '--json']);
    assert.equal([r.status, r.json.sha256Checked], [0, true], r.err);
    const doc = JSON.parse(await fs.readFile(`${f}.meta.json`, 'utf8'));
    await fs.writeFile(`${f}.meta.json`, JSON.stringify({ ...doc, sha256: '0'.repeat(64) }));
    r = run(['verify', f, '--json']);
    assert.equal([r.status, r.json.sha256, r.json.sha256Checked], [0, '0'.repeat(64), false], r.err);
    r = run(['verify', f, '--whole-file', '--json']);
    assert.equal([r.status, r.json.code, r.json.detail], [1, 'INTEGRITY', 'FILE_HASH_MISMATCH'], r.out);
    await fs.rm(dir, { recursive: true, force: true });
  });
  C('verifies a URL: a reference file served by nginx', () => {
    const r = run(['verify', `${testEnv('SAFECKPT_TEST_HTTP')}/fixtures/reference/safetensors/valid/many_2000.safetensors`, '--json']);
    assert.equal([r.status, r.json.tensors, r.json.sidecar], [0, 2000, 'missing'], r.err);
  });
}
C.run();

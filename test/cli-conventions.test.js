// The conventions every `safeckpt` command follows, as a user meets them in a
// shell (Node and Deno each spawn the CLI on their own runtime): --version,
// help for every command, usage errors on stderr with exit 2 and a JSON line
// under --json, did-you-mean, diff's exit codes, and "1 tensor" not "1 tensors".
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writeSafetensors } from '../dist/index.js';
import { runtime, tempDir, readRepoJson } from './_env.js';

const C = suite('CLI conventions');
if (runtime === 'node' || runtime === 'deno') {
  const { spawnSync } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const cli = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
  const [cmd, pre] = runtime === 'deno' ? [Deno.execPath(), ['run', '-A', '--quiet', cli]] : [process.execPath, [cli]];
  const run = (...args) => {
    const r = spawnSync(cmd, [...pre, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    const last = r.stdout.trim().split('\n').pop();
    let json = null;
    try { json = JSON.parse(last); } catch {}
    return { status: r.status, out: r.stdout, err: r.stderr, json };
  };
  const COMMANDS = ['inspect', 'verify', 'sign', 'convert', 'diff', 'demo'];

  const dir = await tempDir();
  const one = { w: { dtype: 'F32', shape: [2], data: Float32Array.of(1, 2) } };
  await writeSafetensors(`${dir}/one.safetensors`, one);
  await writeSafetensors(`${dir}/one-again.safetensors`, one);
  await writeSafetensors(`${dir}/other.safetensors`, { w: { dtype: 'F32', shape: [2], data: Float32Array.of(1, 3) } });

  C('--version prints the package version (also -V, and as JSON under --json)', async () => {
    const { version } = await readRepoJson('package.json');
    for (const v of ['--version', '-V', 'version']) {
      const r = run(v);
      assert.equal([r.status, r.out, r.err], [0, `safeckpt ${version}\n`, ''], v);
    }
    assert.equal(run('--version', '--json').json, { ok: true, version });
  });

  C('help lists every command on stdout; help CMD, CMD --help and CMD -h print that command\'s options', () => {
    const r = run('help');
    assert.is(r.status, 0);
    assert.is(r.err, '');
    for (const c of COMMANDS) assert.match(r.out, new RegExp(`^  ${c} `, 'm'), c);
    assert.is(run('--help').out, r.out);
    for (const c of COMMANDS) {
      const h = run('help', c);
      assert.equal([h.status, h.err], [0, ''], c);
      assert.ok(h.out.startsWith(`usage: safeckpt ${c}`), h.out);
      // Every option the synopsis shows is explained, and the exit codes are stated.
      for (const opt of new Set(h.out.split('\n')[0].match(/--[a-z-]+/g) ?? [])) assert.match(h.out, new RegExp(`^  ${opt} `, 'm'), `${c} ${opt}`);
      assert.match(h.out, /^Exit codes: 0 /m, c);
      assert.is(run(c, '--help').out, h.out, `${c} --help`);
      assert.is(run(c, 'whatever', '-h').out, h.out, `${c} -h`);
    }
  });

  C('usage errors go to stderr with exit 2 and nothing on stdout', () => {
    for (const args of [[], ['verify'], ['verify', 'a', 'b'], ['inspect', 'x', '--bogus'], ['sign', `${dir}/one.safetensors`], ['frobnicate'], ['diff', 'a'], ['demo', 'extra']]) {
      const r = run(...args);
      assert.is(r.status, 2, args.join(' '));
      assert.is(r.out, '', args.join(' '));
      assert.match(r.err, /^safeckpt: /, args.join(' '));
      assert.match(r.err, /usage|safeckpt help/, args.join(' '));
    }
    assert.match(run('verify').err, /usage: safeckpt verify <file\|dir\|url>/);
  });

  C('did you mean: the closest command or option is named; nothing when none is close', () => {
    assert.match(run('verfy', 'x').err, /unknown command 'verfy' \(did you mean verify\?\)/);
    assert.match(run('inspekt', 'x').err, /did you mean inspect\?/);
    assert.match(run('help', 'dif').err, /did you mean diff\?/);
    assert.match(run('inspect', 'x', '--digest').err, /unknown option --digest \(did you mean --digests\?\)/);
    assert.match(run('verify', 'x', '--jsno').err, /did you mean --json\?/);
    assert.match(run('verify', 'x', '--key_env', 'K').err, /did you mean --key-env\?/);
    assert.match(run('--verison').err, /did you mean --version\?/);
    const far = run('frobnicate');
    assert.match(far.err, /unknown command 'frobnicate'\n/);
    assert.not.match(far.err, /did you mean/);
  });

  C('--json, --json=1 and --json=true: a usage error is one JSON object on the last line of stdout', () => {
    for (const j of ['--json', '--json=1', '--json=true', '--json=yes']) {
      for (const args of [['verify', j], ['inspect', 'x', j, '--bogus'], ['verfy', 'x', j], [j], [j, 'diff', 'a']]) {
        const r = run(...args);
        assert.is(r.status, 2, args.join(' '));
        assert.is(r.json?.ok, false, `${args.join(' ')}: ${r.out}`);
        assert.is(r.json.code, 'USAGE');
        assert.type(r.json.message, 'string');
        assert.ok(r.err.includes(r.json.message), 'the same message on stderr');
      }
    }
    assert.equal(run('verify', '--json').json, {
      ok: false, code: 'USAGE', message: 'verify: expected exactly one file, folder or URL',
      usage: 'safeckpt verify <file|dir|url> [--key-env VAR] [--public-key FILE] [--json] [--strict] [--whole-file] [--timeout S]',
    });
    // --json=1 is --json for a successful run too; --json=0 / --json=false turn it off.
    assert.is(run('verify', `${dir}/one.safetensors`, '--json=1').json?.ok, true);
    for (const off of ['--json=0', '--json=false']) {
      const r = run('verify', `${dir}/one.safetensors`, off);
      assert.equal([r.status, r.json], [0, null], off);
      assert.is(run('verify', off).out, '', `${off}: no JSON for a usage error`);
    }
    const bad = run('verify', 'x', '--json=maybe');
    assert.equal([bad.status, bad.json?.code], [2, 'USAGE']);
    assert.match(bad.json.message, /--json is a switch/);
    // A failure that is not a usage error keeps its own code.
    const missing = run('verify', `${dir}/absent.safetensors`, '--json=true');
    assert.equal([missing.status, missing.json.code], [1, 'NOT_FOUND']);
  });

  C('diff exits 0 identical, 1 different, 2 usage, 3 when a source cannot be read (also under --json)', () => {
    assert.is(run('diff', `${dir}/one.safetensors`, `${dir}/one-again.safetensors`).status, 0);
    assert.is(run('diff', `${dir}/one.safetensors`, `${dir}/other.safetensors`).status, 1);
    assert.is(run('diff', `${dir}/one.safetensors`).status, 2);
    const r = run('diff', `${dir}/one.safetensors`, `${dir}/absent.safetensors`);
    assert.is(r.status, 3);
    assert.match(r.err, /NOT_FOUND: .*absent\.safetensors/);
    const j = run('diff', `${dir}/one.safetensors`, `${dir}/absent.safetensors`, '--json');
    assert.equal([j.status, j.json.ok, j.json.code], [3, false, 'NOT_FOUND']);
    assert.match(run('help', 'diff').out, /0 identical, 1 different, 2 usage, 3 failed/);
  });

  C('counts agree with their nouns: "1 tensor", "2 tensors"', () => {
    const v = run('verify', `${dir}/one.safetensors`);
    assert.match(v.out, /\(safetensors, 1 tensor, /);
    assert.match(run('inspect', `${dir}/one.safetensors`).out, /safetensors, 1 tensor, /);
    const d = run('diff', `${dir}/one.safetensors`, `${dir}/one-again.safetensors`);
    assert.match(d.out, /\(safetensors, 1 tensor\)\n/);
    assert.match(d.out, /identical: 1 tensor, same names/);
    assert.match(run('inspect', 'test/fixtures/reference/safetensors/valid/state_dict_f32.safetensors').out, /, 7 tensors, /);
  });
}
C.run();

// Every code block in README.md and docs/*.md runs here, so no example rots.
//
//   ```js                 runs in Node as an ES module, its cwd a fresh folder holding the sample files below;
//                         `safeckpt` is this build and `@tensorflow/tfjs` the package users install
//   ```js deno bun        … and in Deno and/or Bun too
//   ```sh                 runs in bash (`set -eo pipefail`) in such a folder, with `safeckpt` on PATH
//   ```console            a shell session: each `$ command` runs in such a folder and its output (stdout and
//                         stderr) must be the lines shown under it; `…` in a line matches anything, a line of
//                         just `…` any number of lines
//   ```js no-run: WHY     not run: WHY is required (a browser page, a server of your own, …); a js block is still
//   ```sh no-run: WHY     parsed and every name it imports from 'safeckpt' must exist
//   ```json / ```text …   shown, not run
//
// The sample files (also served over HTTP at https://models.example/, which blocks may use: the URL is replaced
// by the suite's nginx): model.safetensors (+ sidecar, unsigned; embed.weight, fc1.weight, fc1.bias,
// lm_head.weight), model.pt (a PyTorch state dict), ckpt.pt (a PyTorch training checkpoint: model, optimizer,
// epoch …), malicious.pt (a pickle that calls os.system), saved-run/ (a safeckpt training checkpoint,
// LATEST = step-00000020).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as safeckpt from '../dist/index.js';
import { runtime, testEnv, listRepoDir, readRepoText } from './_env.js';

const D = suite('docs: every code block runs');
const EXAMPLE_ORIGIN = 'https://models.example/';

/** The fenced blocks of a markdown file: { lang, attrs, code, line }. */
export function codeBlocks(md) {
  const out = [];
  const re = /^```([A-Za-z]*)([^\n]*)\n([\s\S]*?)^```[ \t]*$/gm;
  for (let m; (m = re.exec(md));) {
    out.push({ lang: m[1], attrs: m[2].trim(), code: m[3], line: md.slice(0, m.index).split('\n').length });
  }
  return out;
}

/** A console block as `$ command` lines, each with the output shown under it. */
export function consoleSteps(code) {
  const steps = [];
  for (const line of code.replace(/\n$/, '').split('\n')) {
    if (line.startsWith('$ ')) steps.push({ command: line.slice(2), expected: [] });
    else if (steps.length) steps[steps.length - 1].expected.push(line);
  }
  return steps.map((s) => ({ command: s.command, expected: s.expected.join('\n').replace(/\s+$/, '') }));
}

/** The shown output as a pattern: `…` matches anything within a line, a line of just `…` any lines. */
export function outputPattern(expected) {
  const esc = (t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const lines = expected.split('\n').map((l) => (l.trim() === '…' ? '(?:[^\\n]*(?:\\n|$))*?' : esc(l.replace(/\s+$/, '')).replaceAll('…', '[^\\n]*?') + '[ \\t]*(?:\\n|$)'));
  return new RegExp(`^${lines.join('')}$`);
}

/** 'no-run: why' → { noRun: 'why' }; 'deno' → { deno: true }. */
function mode(attrs) {
  const noRun = /^(?:no-run|browser)\s*:\s*(.*)$/.exec(attrs);
  if (noRun) return { noRun: noRun[1].trim() || null };
  if (/^(?:no-run|browser)\b/.test(attrs)) return { noRun: null };
  return { deno: /\bdeno\b/.test(attrs), bun: /\bbun\b/.test(attrs) };
}

const docFiles = ['README.md', ...(await listRepoDir('docs').catch(() => [])).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
/** While editing one page: SAFECKPT_DOCS=docs/cli.md node test/run.js --only node docs */
const onlyDoc = testEnv('SAFECKPT_DOCS');
const blocks = [];
for (const file of docFiles) {
  for (const b of codeBlocks(await readRepoText(file))) blocks.push({ file, ...b, ...mode(b.attrs) });
}

D('README.md and docs/ pages have code blocks, each js or sh block runs or says why not', () => {
  assert.ok(docFiles.length >= 9, `README and the docs/ pages: ${docFiles.join(', ')}`);
  for (const b of blocks) {
    if (!['js', 'sh'].includes(b.lang)) continue;
    assert.ok(b.noRun !== null, `${b.file}:${b.line}: a no-run block needs a reason (\`\`\`${b.lang} no-run: why)`);
  }
  assert.ok(blocks.filter((b) => b.lang === 'js' && b.noRun === undefined).length >= 10, 'most js blocks run');
});

D('the runner: blocks, modes and console output patterns', () => {
  const md = 'x\n```js\na()\n```\n```sh no-run: needs npm\nnpm i\n```\n```console\n$ echo hi\nhi\n```\n';
  assert.equal(codeBlocks(md).map((b) => [b.lang, b.attrs, b.code, b.line]),
    [['js', '', 'a()\n', 2], ['sh', 'no-run: needs npm', 'npm i\n', 5], ['console', '', '$ echo hi\nhi\n', 8]]);
  assert.equal([mode('no-run: why'), mode('no-run'), mode('deno bun'), mode('')], [{ noRun: 'why' }, { noRun: null }, { deno: true, bun: true }, { deno: false, bun: false }]);
  assert.equal(consoleSteps('$ a\n1\n2\n$ b\n'), [{ command: 'a', expected: '1\n2' }, { command: 'b', expected: '' }]);
  const p = outputPattern('OK  ./m (…, 4 tensors)\n…\nend');
  assert.ok(p.test('OK  ./m (safetensors, 4 tensors)\nline\nline  \nend'));
  assert.ok(p.test('OK  ./m (x, 4 tensors)\nend'));
  assert.not.ok(p.test('OK  ./m (x, 1 tensor)\nend'));
  assert.not.ok(p.test('OK  ./m (x, 4 tensors)\nend\nmore'));
  assert.not.ok(outputPattern('a').test('a\nb'));
  assert.ok(outputPattern('').test(''));
});

D('every name a block imports from safeckpt exists in the public entry', () => {
  for (const b of blocks.filter((x) => x.lang === 'js')) {
    for (const m of b.code.matchAll(/import\s*\{([^}]*)\}\s*from\s*'safeckpt'/g)) {
      for (const spec of m[1].split(',').map((s) => s.trim().split(/\s+as\s+/)[0]).filter(Boolean)) {
        assert.ok(spec.startsWith('type ') || spec in safeckpt, `${b.file}:${b.line}: '${spec}' is not exported by safeckpt`);
      }
    }
  }
});

if (runtime !== 'chromium') D('relative links between the pages point at files that exist', async () => {
  const fs = await import('node:fs');
  for (const file of docFiles) {
    const md = await readRepoText(file);
    for (const [, target] of md.matchAll(/\]\(((?!https?:|#|mailto:)[^)\s#]+)(?:#[^)]*)?\)/g)) {
      const rel = new URL(target, new URL(file, 'file:///repo/')).pathname.slice('/repo/'.length);
      if (rel.startsWith('docs/api')) continue; // generated by `npm run docs`
      assert.ok(fs.existsSync(new URL(`../${rel}`, import.meta.url)), `${file}: link to ${target} (${rel}) points nowhere`);
    }
  }
});

if (runtime === 'node') {
  const { spawnSync } = await import('node:child_process');
  const fs = await import('node:fs');
  const { fileURLToPath } = await import('node:url');
  const { join } = await import('node:path');
  const { tempDir } = await import('./_env.js');
  const esbuildName = 'esbuild'; // not a literal: the browser bundle of the tests must not pull esbuild in
  const esbuild = (await import(esbuildName)).default;
  const repo = fileURLToPath(new URL('..', import.meta.url));
  const deno = join(repo, 'node_modules', '.bin', 'deno');
  const bun = join(repo, 'node_modules', '.bin', 'bun');
  // Block files live inside the package so that `import … from 'safeckpt'` resolves to this build by the
  // package's own name (Node's self-reference through "exports"), as it does for a user who installed it.
  const blockDir = join(repo, 'build', 'doc-blocks');
  fs.rmSync(blockDir, { recursive: true, force: true });
  fs.mkdirSync(blockDir, { recursive: true });

  // The sample files sh blocks (and https://models.example/) see.
  const samples = await tempDir('safeckpt-doc-samples-');
  await safeckpt.writeSafetensors(join(samples, 'model.safetensors'), {
    'embed.weight': { dtype: 'F32', shape: [16, 8], data: Float32Array.from({ length: 128 }, (_, i) => Math.sin(i)) },
    'fc1.weight': { dtype: 'F32', shape: [8, 8], data: Float32Array.from({ length: 64 }, (_, i) => i / 64) },
    'fc1.bias': { dtype: 'F32', shape: [8], data: new Float32Array(8) },
    'lm_head.weight': { dtype: 'F32', shape: [8, 16], data: Float32Array.from({ length: 128 }, (_, i) => Math.cos(i)) },
  }, { metadata: { model_name: 'tiny' } });
  fs.copyFileSync(join(repo, 'test/fixtures/reference/torch/state_dict_f32.pt'), join(samples, 'model.pt'));
  fs.copyFileSync(join(repo, 'test/fixtures/reference/torch/training_checkpoint.pt'), join(samples, 'ckpt.pt'));
  fs.copyFileSync(join(repo, 'test/fixtures/reference/torch/malicious_posix_system_torchsave.pt'), join(samples, 'malicious.pt'));
  fs.cpSync(join(repo, 'test/fixtures/checkpoint/adam-node'), join(samples, 'saved-run'), { recursive: true });
  const httpRoot = testEnv('SAFECKPT_TEST_HTTP_ROOT'), http = testEnv('SAFECKPT_TEST_HTTP');
  if (httpRoot) {
    fs.cpSync(samples, join(httpRoot, 'doc-samples'), { recursive: true });
    spawnSync('chmod', ['-R', 'a+rX', join(httpRoot, 'doc-samples')]);
  }
  const served = (code) => (http ? code.replaceAll(EXAMPLE_ORIGIN, `${http}/doc-samples/`) : code);
  const bin = join(blockDir, 'bin');
  fs.mkdirSync(bin);
  fs.writeFileSync(join(bin, 'safeckpt'), `#!/bin/sh\nexec "${process.execPath}" "${join(repo, 'dist/cli/main.js')}" "$@"\n`, { mode: 0o755 });

  const where = (b) => `${b.file}:${b.line}`;
  const run = (b, cmd, args, cwd) => {
    const r = spawnSync(cmd, args, {
      cwd, encoding: 'utf8', timeout: 120_000,
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, NO_COLOR: '1' },
    });
    const out = `${r.stdout}\n${r.stderr}`.trim();
    assert.ok(r.status === 0, `${where(b)} (\`\`\`${b.lang} ${b.attrs}) exited with ${r.status ?? r.signal}:\n${out.slice(-3000)}\n--- the block:\n${b.code}`);
    return r;
  };

  for (const b of blocks.filter((x) => x.lang === 'console' && x.noRun === undefined && (!onlyDoc || x.file === onlyDoc))) {
    D(`${where(b)} prints what it shows (console)`, async () => {
      const cwd = await tempDir('safeckpt-doc-block-');
      fs.cpSync(samples, cwd, { recursive: true });
      try {
        for (const { command, expected } of consoleSteps(b.code)) {
          const r = spawnSync('bash', ['-c', `{ ${served(command)}
} 2>&1`], {
            cwd, encoding: 'utf8', timeout: 120_000, env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, NO_COLOR: '1' },
          });
          const got = r.stdout.replace(/\s+$/, '');
          assert.ok(outputPattern(expected).test(got), `${where(b)}: \`${command}\` printed\n${got}\n--- but the page shows\n${expected}`);
        }
      } finally {
        fs.rmSync(cwd, { recursive: true, force: true });
      }
    });
  }

  for (const b of blocks.filter((x) => ['js', 'sh'].includes(x.lang) && (!onlyDoc || x.file === onlyDoc))) {
    const name = `${b.file.replace(/[/.]/g, '_')}_${b.line}`;
    if (b.noRun !== undefined) {
      if (b.lang === 'js') {
        D(`${where(b)} parses (not run: ${b.noRun})`, () => {
          try {
            esbuild.transformSync(b.code, { loader: 'js', format: 'esm', target: 'es2022', supported: { 'top-level-await': true } });
          } catch (e) {
            assert.unreachable(`${where(b)} does not parse: ${e.message}`);
          }
        });
      }
      continue;
    }
    D(`${where(b)} runs (${b.lang}${b.deno ? ', Deno' : ''}${b.bun ? ', Bun' : ''})`, async () => {
      const cwd = await tempDir('safeckpt-doc-block-');
      fs.cpSync(samples, cwd, { recursive: true });
      try {
        if (b.lang === 'sh') {
          run(b, 'bash', ['-c', `set -eo pipefail\n${served(b.code)}`], cwd);
          return;
        }
        const file = join(blockDir, `${name}.mjs`);
        fs.writeFileSync(file, served(b.code));
        run(b, process.execPath, [file], cwd);
        // Deno resolves 'safeckpt' through an import map to the same build; Bun, like Node, by the package's name.
        const map = join(blockDir, `${name}.import-map.json`);
        fs.writeFileSync(map, JSON.stringify({ imports: { safeckpt: `${new URL('../dist/index.js', import.meta.url)}` } }));
        for (const [use, cmd, args] of [[b.deno, deno, ['run', '-A', '--quiet', `--import-map=${map}`]], [b.bun, bun, []]]) {
          if (!use) continue;
          const again = await tempDir('safeckpt-doc-block-');
          fs.cpSync(samples, again, { recursive: true });
          try {
            run(b, cmd, [...args, file], again);
          } finally {
            fs.rmSync(again, { recursive: true, force: true });
          }
        }
      } finally {
        fs.rmSync(cwd, { recursive: true, force: true });
      }
    });
  }
}

D.run();

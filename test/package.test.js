// The published package as a user gets it (issue #12): exactly the files it
// ships, its license, the engines it claims, `require` and `import` from an
// installed copy, and `npx safeckpt demo` with and without TensorFlow.js.
// Node only (it packs and spawns); 20–60 s, most of it the demo.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runtime } from './_env.js';

const FILES = suite('package: the packed file list');
const INSTALLED = suite('package: installed from the tarball');

if (runtime === 'node') {
  const helper = './_scratch-project.js'; // computed: the browser bundle of the tests must not include Node-only helpers
  const { scratchProject, packedFiles, run, repo, repoModules } = await import(helper);
  const { readFileSync, symlinkSync, mkdirSync, existsSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { spawnSync } = await import('node:child_process');

  const files = packedFiles();
  const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));

  FILES('ships LICENSE, README, package.json and dist/ code + declarations, nothing else', () => {
    const other = files.filter((f) => !/^dist\/.+\.(js|d\.ts)$/.test(f));
    // dist/core/core.wasm and sha256.wasm: the core as files, which the workerd condition imports as modules.
    assert.equal(other, ['LICENSE', 'README.md', 'dist/core/core.wasm', 'dist/core/sha256.wasm', 'package.json']);
    for (const f of ['dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'dist/parallel/worker-source.js', 'dist/core/wasm-bytes.js', 'dist/core/sha256-wasm-bytes.js']) {
      assert.ok(files.includes(f), `ships ${f}`);
    }
  });
  FILES('no source maps (they pointed at src/, which is not shipped), no build stamp, no build/', () => {
    assert.equal(files.filter((f) => f.endsWith('.map') || f.includes('.build-stamp') || f.startsWith('build/')), []);
  });
  FILES('no file that nothing loads: the worker module is shipped as text in worker-source.js only', () => {
    assert.equal(files.filter((f) => f.startsWith('dist/parallel/hash-worker')), []);
  });
  FILES('every module has its declarations, and no declaration carries an embedded blob as a literal type', () => {
    const js = files.filter((f) => f.endsWith('.js')).map((f) => f.slice(0, -3));
    const dts = files.filter((f) => f.endsWith('.d.ts')).map((f) => f.slice(0, -5));
    assert.equal(dts, js);
    for (const f of files.filter((x) => x.endsWith('.d.ts'))) {
      const long = /(['"])[A-Za-z0-9+/=]{500,}\1/.exec(readFileSync(join(repo, f), 'utf8'));
      assert.not.ok(long, `${f} declares a ${long?.[0].length}-character literal`);
    }
  });
  FILES('the LICENSE is the Apache License 2.0 that package.json names', () => {
    assert.is(pkg.license, 'Apache-2.0');
    const text = readFileSync(join(repo, 'LICENSE'), 'utf8');
    assert.match(text, /Apache License\s+Version 2\.0, January 2004/);
    assert.match(text, /END OF TERMS AND CONDITIONS/);
  });

  const project = scratchProject();
  const dir = project.dir;
  const bins = join(dir, 'node_modules', '.bin');
  mkdirSync(bins, { recursive: true });
  symlinkSync('../safeckpt/dist/cli/main.js', join(bins, 'safeckpt'));
  const npx = (args) => spawnSync('npx', ['--no-install', 'safeckpt', ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });

  INSTALLED.after(() => project.cleanup());
  INSTALLED(`engines says what works: this Node (${process.versions.node}) satisfies it, and it asks for require(esm) (≥ 20.19)`, () => {
    assert.is(pkg.engines.node, '>=20.19.0');
    const [maj, min] = process.versions.node.split('.').map(Number);
    assert.ok(maj > 20 || (maj === 20 && min >= 19));
  });
  INSTALLED('import and require both load it', () => {
    const code = `const c = require('safeckpt'); import('safeckpt').then((e) => console.log(typeof c.verify, typeof e.verify, c.verify === e.verify))`;
    assert.is(run(process.execPath, ['-e', code], { cwd: dir }).stdout.trim(), 'function function true');
  });
  INSTALLED('--help lists the everyday commands first and the demo last', () => {
    const r = npx(['--help']);
    const names = [...(r.stdout + r.stderr).matchAll(/^ {2}([a-z]+) {2,}\S/gm)].map((m) => m[1]);
    assert.ok(names.length >= 5 && names.includes('verify'), r.stdout + r.stderr);
    assert.is(names[names.length - 1], 'demo', r.stdout);
  });
  INSTALLED('demo without TensorFlow.js says exactly what to install (exit 1)', () => {
    const r = npx(['demo']);
    assert.is(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr + r.stdout, 'npm install @tensorflow/tfjs');
  });
  INSTALLED('demo with the user\'s @tensorflow/tfjs resumes the killed run bit for bit (exit 0)', () => {
    assert.ok(existsSync(join(repoModules, '@tensorflow', 'tfjs')), 'the dev dependency @tensorflow/tfjs is installed');
    mkdirSync(join(dir, 'node_modules', '@tensorflow'), { recursive: true });
    symlinkSync(join(repoModules, '@tensorflow', 'tfjs'), join(dir, 'node_modules', '@tensorflow', 'tfjs'), 'dir');
    const r = npx(['demo']);
    assert.is(r.status, 0, r.stdout + r.stderr);
    const m = /(\d+)\/(\d+) losses bit-identical/.exec(r.stdout);
    assert.ok(m && m[1] === m[2], r.stdout);
    assert.match(r.stdout, /verified step-\d{8}/);
  });
}

FILES.run();
INSTALLED.run();

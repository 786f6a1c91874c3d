// Imports run one way (README, Layout): scripts/check-imports.js, which `npm run build` and so
// `npm test` run, passes on src/ as it is and fails on any import that runs upward.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runtime, tempDir } from './_env.js';

const L = suite('import layers');
if (runtime === 'node') {
  const { spawnSync } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const fs = await import('node:fs/promises');
  const script = fileURLToPath(new URL('../scripts/check-imports.js', import.meta.url));
  const src = fileURLToPath(new URL('../src', import.meta.url));
  // Run as a process, as the build runs it (importing the script would pull node:* into the browser bundle).
  const check = (dir) => spawnSync(process.execPath, [script, '.'], { cwd: dir, encoding: 'utf8' });
  /** [file, line, from layer, to layer] of each upward import the script reports under `dir`. */
  const upwardImports = (dir) => [...check(dir).stderr.matchAll(/^(.+):(\d+): (\S+) imports \S+ \((\S+)\), a layer above it$/gm)]
    .map((m) => [m[1], Number(m[2]), m[3], m[4]]);

  /** A small src/ tree: { 'core/a.ts': 'source', … }. */
  async function tree(files) {
    const dir = await tempDir();
    for (const [p, text] of Object.entries(files)) {
      await fs.mkdir(`${dir}/${p.split('/').slice(0, -1).join('/')}`, { recursive: true });
      await fs.writeFile(`${dir}/${p}`, text);
    }
    return dir;
  }

  L('src/ has no upward import', () => {
    assert.equal(upwardImports(src), []);
    assert.is(check(src).status, 0);
  });

  L('downward, same-layer and bare imports pass', async () => {
    const dir = await tree({
      'types/dtype.ts': 'export const X = 1;\n',
      'core/header.ts': "import { X } from '../types/dtype.js';\nimport type { Y } from './shapes.js';\n",
      'format/read.ts': "import { X } from '../types/dtype.js';\nimport { h } from '../core/header.js';\nimport { readFile } from 'node:fs';\n",
      'sources/open.ts': "import { r } from '../format/read.js';\nexport { c } from '../checkpoint/read.js';\n",
    });
    assert.is(check(dir).status, 0);
  });

  L('an upward import fails, naming the file, the line and both layers', async () => {
    const dir = await tree({
      'core/header.ts': "// a comment: import { x } from '../format/types.js'\nimport { X } from '../types/dtype.js';\n\nimport type {\n  Header,\n} from '../format/types.js';\n",
      'format/open.ts': "const m = await import('../checkpoint/read.js');\n",
      'format/types.ts': 'export interface Header {}\n',
    });
    assert.equal(upwardImports(dir), [['core/header.ts', 4, 'core', 'format'], ['format/open.ts', 1, 'format', 'checkpoint']]);
    const r = check(dir);
    assert.is(r.status, 1);
    assert.match(r.stderr, 'core/header.ts:4: core imports ../format/types.js (format), a layer above it');
    assert.match(r.stderr, '2 bad import(s)');
  });

  L('a re-export from above, and a file in no known layer, fail too', async () => {
    const dir = await tree({
      'format/index.ts': "export * from '../sources/open.js';\n",
      'misc/x.ts': "import { X } from '../types/dtype.js';\n",
    });
    assert.equal(upwardImports(dir).map((b) => [b[2], b[3]]), [['format', 'sources'], ['unlayered', 'types']]);
  });

  // The lazy-module hint (scripts/check-imports.js): a module the entry's code loads by dynamic import imports
  // the entry for no bindings, so that a page's start code ships as one chunk; nothing else may import it.
  const entryTree = (extra) => tree({
    'index.ts': "export { open } from './sources/open.js';\n",
    'sources/open.ts': "import { h } from '../core/h.js';\nexport async function open() { return (await import('../format/lazy.js')).f(h); }\n",
    'core/h.ts': 'export const h = 1;\n',
    'format/leaf.ts': 'export const data = 1;\n',
    ...extra,
  });
  /** The lines the script prints that are not upward imports: file:line: message. */
  const lazyRules = (dir) => check(dir).stderr.split('\n').filter((l) => /^\S+:\d+: /.test(l) && !/a layer above it$/.test(l));

  L('a lazily loaded module imports the entry for no bindings: allowed, and the only upward import allowed', async () => {
    const dir = await entryTree({ 'format/lazy.ts': "import '../index.js';\nimport { h } from '../core/h.js';\nexport const f = (x) => x + h;\n" });
    assert.equal(lazyRules(dir), []);
    assert.is(check(dir).status, 0);
    // With bindings it is an upward import like any other.
    const bound = await entryTree({ 'format/lazy.ts': "import { open } from '../index.js';\nexport const f = (x) => open;\n" });
    assert.equal(upwardImports(bound), [['format/lazy.ts', 1, 'format', 'index.ts']]);
  });

  L('a lazily loaded module that imports code but not the entry fails, naming the hint to add', async () => {
    const dir = await entryTree({ 'format/lazy.ts': "import { h } from '../core/h.js';\nexport const f = (x) => x + h;\n" });
    const lines = lazyRules(dir);
    assert.is(lines.length, 1, lines.join('\n'));
    assert.match(lines[0], "format/lazy.ts:1: is loaded by dynamic import and imports other modules, but lacks the lazy-module hint `import '../index.js';`");
    assert.is(check(dir).status, 1);
  });

  L('a lazily loaded module that imports nothing needs no hint (it cuts no shared code)', async () => {
    const dir = await entryTree({ 'format/lazy.ts': 'export const f = (x) => x;\n' });
    assert.is(check(dir).status, 0);
  });

  L('the hint in a module the entry reaches statically fails: it would be an import cycle', async () => {
    const dir = await entryTree({
      'core/h.ts': "import '../index.js';\nexport const h = 1;\n",
      'format/lazy.ts': "import '../index.js';\nexport const f = (x) => x;\n",
    });
    const lines = lazyRules(dir);
    assert.is(lines.length, 1, lines.join('\n'));
    assert.match(lines[0], 'core/h.ts:1: imports ../index.js (the lazy-module hint), but it is not a lazy module');
  });

  L('a dynamic import of a module the entry reaches statically fails (that module cannot carry the hint)', async () => {
    const dir = await entryTree({
      'sources/open.ts': "import { h } from '../core/h.js';\nexport async function open() { return (await import('../core/h.js')).h; }\n",
    });
    const lines = lazyRules(dir);
    assert.is(lines.length, 1, lines.join('\n'));
    assert.match(lines[0], 'sources/open.ts:2: imports ../core/h.js dynamically, but index.ts loads it statically');
  });

  L("type-only imports and import('…') types neither load modules nor make them lazy", async () => {
    const dir = await entryTree({
      'sources/open.ts': "import { h } from '../core/h.js';\nimport type { T } from '../format/lazy.js';\nimport { type U } from '../format/other.js';\nexport let x: import('../format/other.js').U;\nexport async function open() { return (await import('../format/lazy.js')).f(h); }\n",
      'format/lazy.ts': "import '../index.js';\nimport { h } from '../core/h.js';\nexport const f = (x) => x + h;\nexport type T = 1;\n",
      // Not lazy (only its types are imported), so the hint here is refused, which shows it is not counted as loaded.
      'format/other.ts': "import '../index.js';\nexport type U = 1;\n",
    });
    const lines = lazyRules(dir);
    assert.is(lines.length, 1, lines.join('\n'));
    assert.match(lines[0], 'format/other.ts:1: imports ../index.js (the lazy-module hint), but it is not a lazy module');
  });
}
L.run();

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
    assert.match(r.stderr, '2 upward import(s)');
  });

  L('a re-export from above, and a file in no known layer, fail too', async () => {
    const dir = await tree({
      'format/index.ts': "export * from '../sources/open.js';\n",
      'misc/x.ts': "import { X } from '../types/dtype.js';\n",
    });
    assert.equal(upwardImports(dir).map((b) => [b[2], b[3]]), [['format', 'sources'], ['unlayered', 'types']]);
  });
}
L.run();

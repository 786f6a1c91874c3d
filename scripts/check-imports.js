#!/usr/bin/env node
// Imports run one way: a module may import its own layer or any layer below it, never one above.
// The layers, bottom first, are the ones README.md's Layout section describes. `npm test` runs this
// (test/run.js) and exits non-zero on the first upward import, naming the file, the line and both layers.
//
//   node scripts/check-imports.js [src-dir]     prints every violation; exit 1 if any, 0 if none
//
// It reads every static `import … from`, `export … from`, side-effect `import '…'` and dynamic
// `import('…')` with a relative specifier; bare specifiers (`node:fs`, `fflate`) are not layers.
//
// One upward import is allowed, and required: the lazy-module hint. A bundler that splits code (esbuild)
// puts each file of a page into a chunk by the set of entry points that reach it: the page, and every
// module loaded by dynamic import. Start code that some lazily loaded modules also import, and others do
// not, is cut into one chunk per such set, each gzipped apart (14 start chunks, +4 KB gzip for a read +
// verify page, bench/size.bench.js). A lazy module that imports the package entry (`import '../index.js';`,
// no bindings) reaches all of the entry's code, so every lazy module reaches the same start code and it
// ships as one chunk. It adds nothing to any chunk: the page already holds all of the entry it uses, and
// side-effect-free code it does not use is still dropped. So a "lazy module" — one that the entry's code
// imports dynamically (transitively) and that src/index.ts does not reach by static imports, so the hint
// can form no import cycle (it runs after the entry, or loads the entry first) — must carry the hint when
// it imports anything, and only such a module may. A dynamic import of a module the entry does reach
// statically is refused: that module cannot carry the hint, yet a page that does not use its static
// importers gets it as a lazy entry and split start code (load it through a lazy module instead).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, dirname, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Bottom first. A file's layer is its first folder under src/ (or its name, for a file at the top). */
export const LAYERS = [
  ['types', 'errors.ts', 'error-json.ts', 'platform', 'name-record.ts'], // the shared leaf: dtypes, tensor info, byte ranges, the error classes, runtime probes
  ['core'], //             the wasm core: header validation, SHA-256/HMAC, shape checks
  ['store'], //            one Store interface and its backends
  ['log'], //              the logger and its sinks
  ['parallel'], //         the worker pool and the range hashing it runs
  ['format'], //           safetensors, sidecars, signatures, sharded index, torch
  ['tfjs'], //             the TensorFlow.js bridge
  ['checkpoint'], //       training checkpoints
  ['sources'], //          what a source is; open / verify / inspect / diff anything
  ['demo'], //             the demo kit (safeckpt/demo): TinyLM, sampler, training loop
  ['cli'], //              the safeckpt command
  ['index.ts', 'index.workerd.ts', 'internal.ts'], // the package entries (safeckpt/demo is src/demo/index.ts)
];

export function layerOf(srcRoot, file) {
  const first = relative(srcRoot, file).split(sep)[0];
  const i = LAYERS.findIndex((names) => names.includes(first));
  return i < 0 ? null : { rank: i, name: first };
}

const SPEC = /(?:\bimport\s*(?:type\s+)?(?:[\w*${}\s,]+?\s*from\s*)?|\bexport\s*(?:type\s+)?(?:\*(?:\s+as\s+\w+)?|\{[^}]*\})\s*from\s*|\bimport\s*\(\s*)(['"])(\.{1,2}\/[^'"]+)\1/g;

function* files(dir) {
  for (const e of readdirSync(dir).sort()) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) yield* files(p);
    else if (/\.ts$/.test(e) && !/\.d\.ts$/.test(e)) yield p;
  }
}

const ENTRY = 'index.ts';

/** A relative import found in `text`: its spec, the line, and how it imports (value, bare side effect, type only, dynamic). */
function* importsIn(text) {
  for (const m of text.matchAll(SPEC)) {
    const head = m[0].slice(0, m[0].length - m[2].length - 2);
    const after = text.slice(m.index + m[0].length);
    let kind = 'value';
    if (/^import\s*\($/.test(head.replace(/\s+$/, ''))) {
      // `import('./x.js').T` and `typeof import('./x.js')` are types, not loads.
      kind = /^\s*\)\s*\./.test(after) || /\btypeof\s*$/.test(text.slice(0, m.index)) ? 'type' : 'dynamic';
    } else if (/^(?:import|export)\s*type\b/.test(head)) kind = 'type';
    else if (/^import\s*$/.test(head)) kind = 'bare';
    else {
      const names = /\{([^}]*)\}/.exec(head);
      // `import { type A, type B } from …`: types only, which the compiler drops.
      if (names && !/^import\s*[\w$]+\s*,/.test(head) && names[1].split(',').map((n) => n.trim()).filter(Boolean).every((n) => /^type\s/.test(n))) kind = 'type';
    }
    yield { spec: m[2], kind, line: text.slice(0, m.index).split('\n').length };
  }
}

function parse(srcRoot) {
  const mods = new Map();
  for (const file of files(srcRoot)) {
    const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|(^|[^:])\/\/.*$/gm, (m, pre = '') => pre + m.slice(pre.length).replace(/[^\n]/g, ' '));
    mods.set(file, [...importsIn(text)].map((i) => ({ ...i, target: resolve(dirname(file), i.spec).replace(/\.js$/, '.ts') })));
  }
  return mods;
}

/**
 * The lazy modules of the package entry (see the top of this file): `closure`, what src/index.ts reaches by
 * static imports; `lazy`, what its code (and lazy code) imports dynamically beyond that.
 */
export function lazyModules(srcRoot, mods = parse(srcRoot)) {
  const entry = join(srcRoot, ENTRY);
  const closure = new Set();
  const walk = (f) => {
    if (closure.has(f) || !mods.has(f)) return;
    closure.add(f);
    for (const i of mods.get(f)) if (i.kind === 'value' || i.kind === 'bare') walk(i.target);
  };
  walk(entry);
  const lazy = new Set();
  const reached = new Set();
  const reach = (f) => {
    if (reached.has(f) || !mods.has(f)) return;
    reached.add(f);
    for (const i of mods.get(f)) {
      if (i.kind === 'dynamic' && !closure.has(i.target) && mods.has(i.target)) lazy.add(i.target);
      if (i.kind !== 'type') reach(i.target);
    }
  };
  reach(entry);
  return { entry, closure, lazy };
}

const isHint = (i, entry) => i.kind === 'bare' && i.target === entry;

/** Every upward import under srcRoot: { file, line, spec, from, to }, and every broken lazy-module rule: { file, line, spec, message }. */
export function upwardImports(srcRoot) {
  const mods = parse(srcRoot);
  const { entry, closure, lazy } = lazyModules(srcRoot, mods);
  const bad = [];
  for (const [file, imports] of mods) {
    const from = layerOf(srcRoot, file);
    for (const i of imports) {
      const to = layerOf(srcRoot, i.target);
      const at = { file, line: i.line, spec: i.spec };
      if (isHint(i, entry) && lazy.has(file)) continue;
      if (i.kind === 'dynamic' && closure.has(file) && closure.has(i.target) && i.target !== entry) {
        bad.push({ ...at, message: `imports ${i.spec} dynamically, but ${ENTRY} loads it statically: a page that does not use its static importers gets it as a lazy entry without the lazy-module hint, and split start code; import a lazy module instead` });
      }
      if (isHint(i, entry)) bad.push({ ...at, message: `imports ${i.spec} (the lazy-module hint), but it is not a lazy module: only a module that ${ENTRY} never reaches by static imports and its code imports dynamically may (else the import forms a cycle)` });
      else if (!from) bad.push({ ...at, from: 'unlayered', to: to?.name ?? 'unlayered' });
      else if (!to) bad.push({ ...at, from: from.name, to: 'unlayered' });
      else if (to.rank > from.rank) bad.push({ ...at, from: from.name, to: to.name });
    }
    if (lazy.has(file) && imports.some((i) => i.kind === 'value' || i.kind === 'bare') && !imports.some((i) => isHint(i, entry))) {
      const spec = relative(dirname(file), entry).replace(/\\/g, '/').replace(/\.ts$/, '.js');
      bad.push({ file, line: 1, spec, message: `is loaded by dynamic import and imports other modules, but lacks the lazy-module hint \`import '${spec.startsWith('.') ? spec : './' + spec}';\`: without it a page's start code is split into chunks` });
    }
  }
  return bad;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'src'));
  const bad = upwardImports(root);
  for (const b of bad) {
    const where = `${relative(process.cwd(), b.file)}:${b.line}`;
    console.error(b.message ? `${where}: ${b.message}` : `${where}: ${b.from} imports ${b.spec} (${b.to}), a layer above it`);
  }
  if (bad.length) {
    console.error(`check-imports: ${bad.length} bad import(s); layers, bottom first: ${LAYERS.map((l) => l.join('|')).join(' < ')}`);
    process.exit(1);
  }
  console.error('check-imports: every import under src/ runs downward (lazy modules import the entry, as they must)');
}

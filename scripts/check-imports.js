#!/usr/bin/env node
// Imports run one way: a module may import its own layer or any layer below it, never one above.
// The layers, bottom first, are the ones README.md's Layout section describes. `npm test` runs this
// (test/run.js) and exits non-zero on the first upward import, naming the file, the line and both layers.
//
//   node scripts/check-imports.js [src-dir]     prints every violation; exit 1 if any, 0 if none
//
// It reads every static `import … from`, `export … from`, side-effect `import '…'` and dynamic
// `import('…')` with a relative specifier; bare specifiers (`node:fs`, `fflate`) are not layers.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, dirname, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Bottom first. A file's layer is its first folder under src/ (or its name, for a file at the top). */
export const LAYERS = [
  ['types', 'errors.ts', 'platform'], // the shared leaf: dtypes, tensor info, byte ranges, the error classes, runtime probes
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
  ['index.ts', 'internal.ts'], // the package entries (safeckpt/demo is src/demo/index.ts)
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

/** Every upward import under srcRoot: { file, line, spec, from, to }. */
export function upwardImports(srcRoot) {
  const bad = [];
  for (const file of files(srcRoot)) {
    const from = layerOf(srcRoot, file);
    const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|(^|[^:])\/\/.*$/gm, (m, pre = '') => pre + m.slice(pre.length).replace(/[^\n]/g, ' '));
    for (const m of text.matchAll(SPEC)) {
      const target = resolve(dirname(file), m[2]).replace(/\.js$/, '.ts');
      const to = layerOf(srcRoot, target);
      const line = text.slice(0, m.index).split('\n').length;
      if (!from) bad.push({ file, line, spec: m[2], from: 'unlayered', to: to?.name ?? 'unlayered' });
      else if (!to) bad.push({ file, line, spec: m[2], from: from.name, to: 'unlayered' });
      else if (to.rank > from.rank) bad.push({ file, line, spec: m[2], from: from.name, to: to.name });
    }
  }
  return bad;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'src'));
  const bad = upwardImports(root);
  for (const b of bad) {
    console.error(`${relative(process.cwd(), b.file)}:${b.line}: ${b.from} imports ${b.spec} (${b.to}), a layer above it`);
  }
  if (bad.length) {
    console.error(`check-imports: ${bad.length} upward import(s); layers, bottom first: ${LAYERS.map((l) => l.join('|')).join(' < ')}`);
    process.exit(1);
  }
  console.error('check-imports: every import under src/ runs downward');
}

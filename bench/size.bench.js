// What a page pays for each use of safeckpt: bytes after esbuild --bundle
// --minify (ESM, code splitting, as a page would ship them), gzip -9. For each
// use: the bytes the page loads at start (its entry chunk and what that imports
// statically), and the chunks it loads later only when it needs them (the
// hashing worker's code, optional engines); and, for bundlers that do not
// split, the one-file total. Deterministic: the same build gives the same
// bytes. test/size.test.js pins the read + verify budget.
import esbuild from 'esbuild';
import { gzipSync } from 'node:zlib';
import { mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { join, dirname, basename } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The target for a read + verify page at start (issue #12): not met yet (BENCHMARKS.md says by how much). */
export const READ_VERIFY_BUDGET = 32 * 1024;
/**
 * What test/size.test.js holds it to meanwhile: the bytes measured on 2026-12-06 (42,612 gzip: the S3 and fs stores
 * load their code on first use and the core ships deflated with its own inflater, −5.3 KB; verified loading at the
 * speed of the wire, #17, +1.2 KB) plus 2%, so that any growth fails until it is paid for elsewhere — plus 1,251
 * bytes for verified partial reads (#15 item 2: verify checks chunk digests, the sidecar validates them, file.slice
 * loads its planner on first use; 43,008 → 44,259 measured), not yet paid for — plus 199 bytes, not yet paid for:
 * verify and load read checkpoints of several writers (the parts' union) and list only committed checkpoints on
 * object stores (#14; 44,914 measured with them; 44,917 with parallel whole-object S3 reads) — plus 81 bytes, not yet
 * paid for: readSafetensors / openTensors / loadCheckpoint / resumeTraining check an Ed25519 public key (#15; 44,998) —
 * plus 355 bytes, not yet paid for: sign() writes a sharded model's sidecars as one set, and the operation's signal
 * reaches every call of a store passed as an object (#15; 45,353; loading the set writer lazily measured 45,575) —
 * plus 144 bytes, not yet paid for: a checkpoint's files hashed once, as they download (#14: Store.readHashed where
 * the store has it, and no second pass over the tensors when the sidecar records the manifest's file hash; 45,497) —
 * plus 514 bytes, not yet paid for: verify in one pass (#17: the digests that tile the data region, the fallback
 * kept; 46,011 measured) — plus 10 bytes, not yet paid for: saveCheckpoint signs the manifest with an Ed25519
 * private key (#14; 46,021).
 */
export const READ_VERIFY_LIMIT = 46_021;

/** Each use as a page would write it: `safeckpt` resolves to this package (self-reference, through its exports). */
export const USES = {
  'read + verify': `import { readSafetensors, verify } from 'safeckpt';
export async function run(url) { const file = await readSafetensors(url, { load: 'all' }); await verify(url); return file; }`,
  'write + sign': `import { writeSafetensors, sign } from 'safeckpt';
export async function run(dest, tensors, key) { await writeSafetensors(dest, tensors); await sign(dest, key); }`,
  checkpoints: `import { saveCheckpoint, resumeTraining, listCheckpoints } from 'safeckpt';
export async function run(root, state, model, optimizer) { await saveCheckpoint(root, state); await listCheckpoints(root); return resumeTraining(root, { model, optimizer }); }`,
  'torch (.pt)': `import { readTorch, convertTorchToSafetensors } from 'safeckpt';
export async function run(src, dest) { await readTorch(src); return convertTorchToSafetensors(src, dest); }`,
  'everything': `export * from 'safeckpt';`,
};

const gz = (bytes) => gzipSync(bytes, { level: 9 }).length;

/** Sizes of one use: { start, startGzip, lazy: [{ name, bytes, gzip }], oneFileGzip }. */
export async function measure(source) {
  const dir = join(root, 'build', 'size', Math.random().toString(36).slice(2));
  mkdirSync(dir, { recursive: true });
  try {
    const entry = join(dir, 'page.js');
    writeFileSync(entry, source);
    const common = { entryPoints: [entry], bundle: true, minify: true, format: 'esm', platform: 'browser', write: false, logLevel: 'error' };
    const split = await esbuild.build({ ...common, splitting: true, outdir: join(dir, 'out'), metafile: true });
    const files = new Map(split.outputFiles.map((f) => [basename(f.path), f.contents]));
    const outputs = Object.fromEntries(Object.entries(split.metafile.outputs).map(([p, o]) => [basename(p), o]));
    // The entry chunk and every chunk it imports statically, transitively: what the page loads at start.
    const start = new Set();
    const visit = (name) => {
      if (start.has(name)) return;
      start.add(name);
      for (const i of outputs[name].imports) if (i.kind === 'import-statement' && !i.external) visit(basename(i.path));
    };
    visit('page.js');
    const startBytes = [...start].reduce((a, n) => a + files.get(n).length, 0);
    const startGzip = [...start].reduce((a, n) => a + gz(files.get(n)), 0);
    // Chunks reached by dynamic imports from there on: loaded later, and only when that code runs.
    const later = new Set();
    const reach = (name) => {
      for (const i of outputs[name].imports) {
        const n = basename(i.path);
        if (i.external || start.has(n) || later.has(n)) continue;
        if (i.kind === 'dynamic-import' || later.has(name)) (later.add(n), reach(n));
      }
    };
    for (const n of start) reach(n);
    const label = (name) => {
      const from = outputs[name].entryPoint ?? name;
      const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(.*)$/.exec(from);
      return pkg ? `${pkg[1]} ${basename(pkg[2]).replace(/\.(umd\.)?(min\.)?js$/, '')}` : basename(from).replace(/\.js$/, '');
    };
    const lazy = [...later].map((name) => ({ name: label(name), bytes: files.get(name).length, gzip: gz(files.get(name)) }))
      .sort((a, b) => b.gzip - a.gzip);
    const one = await esbuild.build({ ...common, outfile: join(dir, 'one.js') });
    return { start: startBytes, startGzip, lazy, oneFileGzip: gz(one.outputFiles[0].contents) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const kb = (n) => `${(n / 1024).toFixed(1)} KB`;

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  console.log('Bytes a page ships for each use: esbuild --bundle --minify, ESM with code splitting, gzip -9. "At start" is');
  console.log('the entry chunk and its static imports; "later" chunks load only when used (dynamic import).');
  console.log(`Target: read + verify at start ≤ ${kb(READ_VERIFY_BUDGET)}; held to ≤ ${kb(READ_VERIFY_LIMIT)} until it is met.\n`);
  console.log('| use | at start (min) | at start (gzip) | loaded later, only when used (gzip) | one file, no splitting (gzip) |');
  console.log('|---|---|---|---|---|');
  for (const [use, source] of Object.entries(USES)) {
    const m = await measure(source);
    const later = m.lazy.map((l) => `${l.name} ${kb(l.gzip)}`).join(', ') || '—';
    console.log(`| ${use} | ${kb(m.start)} | ${kb(m.startGzip)} | ${later} | ${kb(m.oneFileGzip)} |`);
  }
}

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

/** The target for a read + verify page at start (issue #12): met since 2026-12-06 (BENCHMARKS.md "size"). */
export const READ_VERIFY_BUDGET = 32 * 1024;
/**
 * What test/size.test.js holds it to: the bytes measured, so that any growth fails until it is paid for
 * elsewhere. 46,021 on 2026-12-06 before; 42,122 once the sharded and checkpoint readers load on first use
 * and nothing the page does not use is pulled into its start chunks by the public entry's re-exports (the
 * checkpoint manifest, listing and metadata code, the SigV4 signer); 38,867 once the core's SHA-256 is a second
 * WebAssembly module loaded with the hash engines (JS rounds on the same state run until then) and the core's
 * 2.4 KB table of powers of ten is written by the host instead of shipped (38,820 after rebasing on 7f9d8ed);
 * 38,790 after 7838cd8; 38,372 once the JS rounds derive SHA-256's constants instead of shipping them;
 * 38,374 with the hashing workers' chunk digests (#14: core/chunk-hash.js, lazily loaded, imports sha256 from the
 * start chunk, which then exports one more name; not paid for).
 * 34,185 once the start code is one chunk instead of 14: every lazily loaded module imports the entry for
 * no bindings (the lazy-module hint, scripts/check-imports.js), sign() has its own file and the default model
 * key its place with the other model file names (so the page's files reach none of the writing code).
 * 32,595 once code that only lazily loaded modules use has files of their own (the file store's node:fs
 * loading, the worker starter, the index sidecar, the folder-name patterns, errors as data, the public-key
 * check: 33,223) and the core's header parser is built with Binaryen's shrink level 2 (13.2 KB instead of 15.5);
 * 32,590 on 9991c3d; 32,601 once S3 reads count as fresh memory a verified load may lend to its hashing
 * workers (parallel/lease.ts, in the start code: +11 B; the 1 GiB verified download from RGW 1.02× → 0.93× the SDK);
 * 32,621 once a write to S3 hashes on at most two workers from 64 MiB (lease.ts: AUTO_WORKERS_FROM.s3Write and
 * the pool's size cap, +20 B; the 1 GiB upload to RGW 1.15× → 0.91× the SDK). BENCHMARKS.md "size" has the history.
 */
export const READ_VERIFY_LIMIT = 32_621;
/**
 * The most files a page loads at start: its own, one chunk of safeckpt's code and esbuild's shared helper for
 * CommonJS modules (hash-wasm's crc32, loaded later, is one). More means the start code is cut into chunks by
 * the lazily loaded modules that reach it, each gzipped apart: a lazy module without the hint.
 */
export const MAX_START_CHUNKS = 3;

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

/** Bytes (minified) of a module's code at start beyond what the page itself uses of it that count as code pulled in: a small function or more. */
export const EXCESS_SLACK = 48;
/**
 * What each page ships at start that only lazily loaded code uses (measure().excess, minified bytes summed), held
 * to what was measured (2026-12-06): any growth fails. What is left cannot move while a page imports the public
 * entry: the entry re-exports from the file, or the page uses the file, and a lazily loaded module — loaded by
 * this page or not — uses more of it. read + verify: the checkpoint file names the detector also uses, the error
 * codes list (the pool's errorFromJSON); torch: the header parser and the core (parseHeader is public, and the
 * safetensors reader of readSafetensors' lazily loaded checkpoint and sharded paths uses it), the sidecar and
 * signed-JSON code; write + sign: the reader's code that sign()'s lazy paths use, the dtype conversions
 * (SafetensorsView, public, uses them). torch +15 (23,132 → 23,147): freshReads (parallel/lease.ts) also names S3 stores,
 * whose verified loads now lend their ranges to the hashing workers. write + sign +1 (7,795 → 7,796): lease.ts's
 * pool size cap, which only the lazily loaded pool's users pass.
 */
export const EXCESS_LIMIT = { 'read + verify': 270, 'write + sign': 7796, checkpoints: 2260, 'torch (.pt)': 23147, everything: 746 };

/**
 * Sizes of one use: { start, startGzip, startChunks, lazy: [{ name, bytes, gzip }], oneFileGzip, pulledIn, excess }.
 * `startChunks`: how many files the page loads at start. `pulledIn`: the modules in the start chunks that a build
 * with every dynamic import left out does not contain; `excess`: every module whose code in the start chunks
 * exceeds its code in that build by more than EXCESS_SLACK bytes ({ module, start, eager }, minified bytes; the
 * pulled-in modules with eager 0). Both are code that only lazily loaded chunks use, yet ships at start.
 * esbuild assigns a file to chunks whole: when a file the page reaches (through the files it uses, the public
 * entry's re-exports included) is used by any lazily loaded module, all of its code used anywhere goes to the
 * page's start chunk — even from a lazy module the page never loads, since every dynamic import in the files it
 * parses is an entry point. So what only lazy code uses must be in files of its own.
 */
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
      // A chunk that several lazy entries share has no entry point: it is named by its largest module.
      const inputs = Object.entries(outputs[name].inputs).sort((a, b) => b[1].bytesInOutput - a[1].bytesInOutput);
      if (!outputs[name].entryPoint && inputs.length > 0) {
        const top = inputs[0][0].replace(/^.*?dist\//, '').replace(/\.js$/, '');
        return inputs.length > 1 ? `${top} (+${inputs.length - 1})` : top;
      }
      const from = outputs[name].entryPoint ?? name;
      const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(.*)$/.exec(from);
      return pkg ? `${pkg[1]} ${basename(pkg[2]).replace(/\.(umd\.)?(min\.)?js$/, '')}` : basename(from).replace(/\.js$/, '');
    };
    const lazy = [...later].map((name) => ({ name: label(name), bytes: files.get(name).length, gzip: gz(files.get(name)) }))
      .sort((a, b) => b.gzip - a.gzip);
    const one = await esbuild.build({ ...common, outfile: join(dir, 'one.js') });
    const noLater = { name: 'no-dynamic-imports', setup(b) { b.onResolve({ filter: /.*/ }, (a) => (a.kind === 'dynamic-import' ? { path: a.path, external: true } : undefined)); } };
    const eager = await esbuild.build({ ...common, outfile: join(dir, 'eager.js'), metafile: true, plugins: [noLater] });
    const needed = new Set(Object.values(eager.metafile.outputs).flatMap((o) => Object.keys(o.inputs)));
    const short = (i) => i.replace(/^.*?dist\//, '');
    const pulledIn = [...start].flatMap((n) => Object.keys(outputs[n].inputs)).filter((i) => !needed.has(i)).map(short);
    const bytesBy = (outs) => {
      const by = new Map();
      for (const o of outs) for (const [i, x] of Object.entries(o.inputs)) by.set(i, (by.get(i) ?? 0) + x.bytesInOutput);
      return by;
    };
    const atStart = bytesBy([...start].map((n) => outputs[n])), eagerBy = bytesBy(Object.values(eager.metafile.outputs));
    const excess = [...atStart].map(([i, b]) => ({ module: short(i), start: b, eager: eagerBy.get(i) ?? 0 }))
      .filter((e) => e.start - e.eager > EXCESS_SLACK).sort((a, b) => b.start - b.eager - (a.start - a.eager));
    return { start: startBytes, startGzip, startChunks: start.size, lazy, oneFileGzip: gz(one.outputFiles[0].contents), pulledIn, excess };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const kb = (n) => `${(n / 1024).toFixed(1)} KB`;

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  console.log('Bytes a page ships for each use: esbuild --bundle --minify, ESM with code splitting, gzip -9. "At start" is');
  console.log('the entry chunk and its static imports; "later" chunks load only when used (dynamic import).');
  console.log(`Target: read + verify at start ≤ ${kb(READ_VERIFY_BUDGET)} (${READ_VERIFY_BUDGET} B); held to ≤ ${READ_VERIFY_LIMIT} B, what it measured.\n`);
  console.log('| use | at start (min) | at start (gzip) | files at start | of it, code only lazy modules use (min) | loaded later, only when used (gzip) | one file, no splitting (gzip) |');
  console.log('|---|---|---|---|---|---|---|');
  for (const [use, source] of Object.entries(USES)) {
    const m = await measure(source);
    const later = m.lazy.map((l) => `${l.name} ${kb(l.gzip)}`).join(', ') || '—';
    console.log(`| ${use} | ${kb(m.start)} | ${kb(m.startGzip)} (${m.startGzip} B) | ${m.startChunks} | ${m.excess.reduce((a, e) => a + e.start - e.eager, 0)} B | ${later} | ${kb(m.oneFileGzip)} |`);
  }
}

// Does a checkpoint fit the model? 10,000 tensors (a large transformer's
// state dict), every missing, unexpected, reshaped and retyped tensor listed:
//  - safeckpt compareShapes as shipped: in the WASM core when a side is a
//    parsed header (a flat table already: only the other side is encoded), in
//    JS when both sides are records;
//  - the core path forced for records too (compareInCore), to show why it is
//    not used there: encoding two records costs more than comparing them;
//  - a straightforward JS peer: objects keyed by name, shapes compared
//    element by element (what TensorFlow.js's loadWeights and most JS loaders do).
// Three cases: both sides as records (a model's specs against a checkpoint's
// manifest), the checkpoint as header bytes (parseHeader vs TextDecoder +
// JSON.parse, then the check), and a checkpoint that does not fit (100
// reshaped, 10 retyped, 10 missing, 10 unexpected: everything must be listed).
// Median of many runs after a warm-up.
// Usage: node bench/shapes.bench.js [tensors=10000] [runs=60]
import { parseHeader, compareShapes } from '../dist/index.js';
import { compareInCore } from '../dist/core/shapes.js';
import { makeFile } from './_state-dict.js';

const TENSORS = Number(process.argv[2] ?? 10_000);
const RUNS = Number(process.argv[3] ?? 60);

const { head, fileSize, entries } = makeFile(TENSORS);
const model = Object.fromEntries(entries.map((e) => [e.name, { dtype: e.dtype, shape: [...e.shape] }]));
const manifest = Object.fromEntries(entries.map((e) => [e.name, { dtype: e.dtype, shape: [...e.shape] }]));

// The checkpoint that does not fit: a copy of the manifest with differences spread through it.
const bad = structuredClone(manifest);
const names = Object.keys(bad);
for (let i = 0; i < 100; i++) bad[names[i * 97]].shape = [...bad[names[i * 97]].shape, 2];
for (let i = 0; i < 10; i++) bad[names[i * 89 + 5]].dtype = 'F16';
for (let i = 0; i < 10; i++) delete bad[names[i * 991 + 7]];
for (let i = 0; i < 10; i++) bad[`extra.${i}.weight`] = { dtype: 'F32', shape: [4096] };

/** The JS peer: every difference, as compareShapes reports them. */
function jsCompare(expected, actual) {
  const r = { missing: [], unexpected: [], shape: [], dtype: [] };
  for (const name in expected) {
    const e = expected[name], a = actual[name];
    if (a === undefined) { r.missing.push(name); continue; }
    const es = e.shape, as = a.shape;
    let same = es.length === as.length;
    for (let k = 0; same && k < es.length; k++) same = es[k] === as[k];
    if (!same) r.shape.push({ name, expected: es, found: as });
    if (e.dtype !== undefined && e.dtype !== a.dtype) r.dtype.push({ name, expected: e.dtype, found: a.dtype });
  }
  for (const name in actual) if (name !== '__metadata__' && !(name in expected)) r.unexpected.push(name);
  r.ok = !r.missing.length && !r.unexpected.length && !r.shape.length && !r.dtype.length;
  return r;
}
const decoder = new TextDecoder();
const jsonOf = (bytes) => JSON.parse(decoder.decode(bytes.subarray(8)));

const header = () => parseHeader(head, { fileSize });
const cases = [
  ['fits: model specs vs header bytes (parse + check)', () => compareShapes(model, header()), () => compareInCore(model, header()), () => jsCompare(model, jsonOf(head))],
  ['fits: model specs vs checkpoint manifest (records)', () => compareShapes(model, manifest), () => compareInCore(model, manifest), () => jsCompare(model, manifest)],
  ['does not fit: ~130 differences, all listed (records)', () => compareShapes(model, bad), () => compareInCore(model, bad), () => jsCompare(model, bad)],
];

// Both sides must agree before anything is timed.
const key = (r) => JSON.stringify([r.ok, [...r.missing].sort(), [...r.unexpected].sort(), r.shape.map((s) => s.name).sort(), r.dtype.map((d) => d.name).sort()]);
for (const [label, shipped, core, js] of cases) {
  if (key(shipped()) !== key(js()) || key(core()) !== key(js())) throw new Error(`${label}: safeckpt and the JS peer disagree: ${key(shipped())} vs ${key(js())}`);
}
const badReport = compareShapes(model, bad);
const differences = `${badReport.shape.length} reshaped, ${badReport.dtype.length} retyped, ${badReport.missing.length} missing, ${badReport.unexpected.length} unexpected`;
if (badReport.ok || badReport.shape.length < 90 || badReport.missing.length < 5 || badReport.unexpected.length !== 10) throw new Error(`the mismatch case is not one: ${differences}`);

/** Medians of the paths of one case, run in turn (A B C A B C …) so that garbage one leaves is collected during all. */
function timeTogether(fns) {
  for (let i = 0; i < 10; i++) for (const f of fns) f();
  const xs = fns.map(() => []);
  for (let i = 0; i < RUNS; i++) {
    fns.forEach((f, k) => {
      const t0 = performance.now();
      f();
      xs[k].push(performance.now() - t0);
    });
  }
  return xs.map((v) => v.sort((a, b) => a - b)[v.length >> 1]);
}

console.log(`${TENSORS} tensors; median of ${RUNS} runs after 10 warm-up runs, the paths of a case interleaved; every path reports every difference (the misfit: ${differences})\n`);
console.log('| case | safeckpt compareShapes ms | (core forced) ms | JS peer ms | JS peer / safeckpt |');
console.log('|---|---:|---:|---:|---:|');
for (const [label, shipped, core, js] of cases) {
  const [a, c, b] = timeTogether([shipped, core, js]);
  console.log(`| ${label} | ${a.toFixed(2)} | ${c.toFixed(2)} | ${b.toFixed(2)} | ${(b / a).toFixed(2)}× |`);
}

// Does a checkpoint fit a model? Every missing, unexpected, reshaped and
// retyped tensor is reported at once (one error, not the first of many). When
// either side is a parsed header, the matching runs in the core over flat
// tables: the header is passed as the table it already is, the other side is
// encoded once. When both sides are JS records, it runs here: measured
// (bench/shapes.bench.js), encoding two records for the core costs more than
// comparing them, so the core would only lose (about half the speed of a
// plain JS loop at 10,000 tensors). Both paths give the same report (tested
// against each other).
import { withCore, type CoreExports } from './wasm.js';
import { TensorTable, encodeTable, specCode, DTYPE_ANY, type ExpectedTensor } from './table.js';
import { headerTable } from './header.js';
import { CompatibilityError, errorFor } from '../errors.js';
import type { Header } from '../types/tensor.js';
import type { Dtype } from '../types/dtype.js';

/** A model's or a checkpoint's tensors: a parsed Header, or name → { dtype?, shape } (no dtype: any fits). */
export type TensorSpecs = Header | Readonly<Record<string, ExpectedTensor>> | ReadonlyMap<string, ExpectedTensor>;

/** Options of checkShapes/compareShapes: allow missing or unexpected tensors, the path named in errors. */
export interface ShapeCheckOptions {
  /** Tensors the model expects may be absent from the checkpoint. */
  allowMissing?: boolean;
  /** The checkpoint may hold tensors the model does not expect. */
  allowUnexpected?: boolean;
  /** The checkpoint's file, named in the error. */
  path?: string;
}

/** Every difference between two tensor specs at once: missing, unexpected, reshaped and retyped tensors. */
export interface ShapeReport {
  /** True when nothing but allowed differences was found. */
  ok: boolean;
  missing: string[];
  unexpected: string[];
  shape: { name: string; expected: number[]; found: number[] }[];
  dtype: { name: string; expected: Dtype; found: Dtype }[];
}

interface ShapeCore extends CoreExports {
  shapesCompare(eBase: number, eIdx: number, eCount: number, aBase: number, aIdx: number, aCount: number, out: number, seed: number): number;
}

const K_MISSING = 1, K_UNEXPECTED = 2, K_SHAPE = 3, K_DTYPE = 4;
/** Names listed per category in the message; `data` has them all. */
const MESSAGE_LIST_LIMIT = 10;

const invalid = (name: string, why: string) =>
  errorFor('UNSUPPORTED', `shape check: expected tensor ${JSON.stringify(name)} ${why}`, { detail: 'INVALID_ARGUMENT', tensor: name });

function isHeader(x: TensorSpecs): x is Header {
  return typeof (x as Header).tensors === 'function' && typeof (x as Header).names === 'function';
}

function toTable(specs: TensorSpecs): TensorTable {
  if (isHeader(specs)) {
    const t = headerTable(specs);
    if (t) return t;
    const infos = Array.from(specs.tensors());
    return encodeTable(infos.map((t) => t.name), infos, invalid);
  }
  if (specs instanceof Map) return encodeTable([...specs.keys()], [...specs.values()], invalid);
  const names = Object.keys(specs);
  const rec = specs as Readonly<Record<string, ExpectedTensor>>;
  return encodeTable(names, names.map((k) => rec[k]), invalid);
}

const align8 = (n: number) => (n + 7) & ~7;

type SpecRecord = Readonly<Record<string, ExpectedTensor>> | ReadonlyMap<string, ExpectedTensor>;

/** name → entry, own properties only (a tensor may be called "constructor"). */
function lookup(x: SpecRecord): (name: string) => ExpectedTensor | undefined {
  if (x instanceof Map) return (n) => x.get(n);
  const r = x as Readonly<Record<string, ExpectedTensor>>;
  return (n) => (Object.hasOwn(r, n) ? r[n] : undefined);
}
const namesOf = (x: SpecRecord): string[] => (x instanceof Map ? [...x.keys()] : Object.keys(x));

/**
 * The records path: the core's algorithm (same order, same kinds, same
 * validation) on the JS objects themselves — one lookup per expected name,
 * every entry of both sides checked once.
 */
function compareRecords(expected: SpecRecord, actual: SpecRecord): ShapeReport {
  const en = namesOf(expected), an = namesOf(actual);
  const eAt = lookup(expected), aAt = lookup(actual);
  const report: ShapeReport = { ok: true, missing: [], unexpected: [], shape: [], dtype: [] };
  let matched = 0;
  for (const n of en) {
    const e = eAt(n)!;
    const ecode = specCode(n, e, invalid);
    const a = aAt(n);
    if (a === undefined) {
      report.missing.push(n);
      continue;
    }
    specCode(n, a, invalid); // each actual entry is checked once: here when matched, below when not
    matched++;
    const x = e.shape, y = a.shape;
    let same = x.length === y.length;
    for (let k = 0; same && k < x.length; k++) same = x[k] === y[k];
    if (!same) report.shape.push({ name: n, expected: [...x], found: [...y] });
    if (ecode !== DTYPE_ANY && e.dtype !== a.dtype) report.dtype.push({ name: n, expected: e.dtype as Dtype, found: a.dtype as Dtype });
  }
  if (matched < an.length) {
    for (const n of an) {
      if (eAt(n) !== undefined) continue;
      specCode(n, aAt(n)!, invalid);
      report.unexpected.push(n);
    }
  }
  return report;
}

/** Compares without throwing: every difference, and whether the options allow them all. */
export function compareShapes(expected: TensorSpecs, actual: TensorSpecs, opts: ShapeCheckOptions = {}): ShapeReport {
  return withVerdict(isHeader(expected) || isHeader(actual) ? coreDifferences(expected, actual) : compareRecords(expected, actual), opts);
}

/** compareShapes on the core path whatever the inputs (for the tests and the benchmark that hold both paths side by side). */
export function compareInCore(expected: TensorSpecs, actual: TensorSpecs, opts: ShapeCheckOptions = {}): ShapeReport {
  return withVerdict(coreDifferences(expected, actual), opts);
}

function withVerdict(report: ShapeReport, opts: ShapeCheckOptions): ShapeReport {
  report.ok = report.shape.length === 0 && report.dtype.length === 0 &&
    (opts.allowMissing || report.missing.length === 0) && (opts.allowUnexpected || report.unexpected.length === 0);
  return report;
}

function coreDifferences(expected: TensorSpecs, actual: TensorSpecs): ShapeReport {
  const e = toTable(expected), a = toTable(actual);
  const entries = withCore((c0) => {
    const c = c0 as ShapeCore;
    const eIdx = align8(e.arena.length), aBase = align8(eIdx + 4 * e.count);
    const aIdx = align8(aBase + a.arena.length), out = align8(aIdx + 4 * a.count);
    const ptr = c.reserve(out);
    if (ptr === 0) throw errorFor('UNSUPPORTED', 'shape check: the WebAssembly core could not grow its memory', { detail: 'OUT_OF_MEMORY' });
    const mem = new Uint8Array(c.memory.buffer);
    mem.set(e.arena, ptr);
    new Uint32Array(c.memory.buffer, ptr + eIdx, e.count).set(e.index);
    mem.set(a.arena, ptr + aBase);
    new Uint32Array(c.memory.buffer, ptr + aIdx, a.count).set(a.index);
    const n = c.shapesCompare(ptr, ptr + eIdx, e.count, ptr + aBase, ptr + aIdx, a.count, ptr + out, (Math.random() * 4294967296) >>> 0);
    if (n < 0) throw errorFor('UNSUPPORTED', 'shape check: the WebAssembly core could not grow its memory', { detail: 'OUT_OF_MEMORY' });
    return new Uint32Array(c.memory.buffer, ptr + out, n * 3).slice();
  }, (err) => errorFor('IO', `shape check: the safeckpt core failed unexpectedly (${String(err)}); this is a safeckpt bug`, { detail: 'CORE_TRAP', cause: err }));

  const report: ShapeReport = { ok: true, missing: [], unexpected: [], shape: [], dtype: [] };
  for (let k = 0; k < entries.length; k += 3) {
    const kind = entries[k], i = entries[k + 1], j = entries[k + 2];
    if (kind === K_MISSING) report.missing.push(e.name(i));
    else if (kind === K_UNEXPECTED) report.unexpected.push(a.name(j));
    else if (kind === K_SHAPE) report.shape.push({ name: e.name(i), expected: e.shape(i), found: a.shape(j) });
    else if (kind === K_DTYPE) report.dtype.push({ name: e.name(i), expected: e.dtype(i), found: a.dtype(j) });
  }
  return report;
}

function list(names: string[]): string {
  const shown = names.slice(0, MESSAGE_LIST_LIMIT).join(', ');
  return names.length > MESSAGE_LIST_LIMIT ? `${shown} … and ${names.length - MESSAGE_LIST_LIMIT} more` : shown;
}

/**
 * Throws one CompatibilityError listing every tensor that does not fit:
 * SHAPE_MISMATCH, or DTYPE_MISMATCH when only dtypes differ. `data` holds
 * { missing, unexpected, shape: [{name, expected, found}], dtype: [...] }.
 */
export function checkShapes(expected: TensorSpecs, actual: TensorSpecs, opts: ShapeCheckOptions = {}): void {
  const r = compareShapes(expected, actual, opts);
  if (r.ok) return;
  const missing = opts.allowMissing ? [] : r.missing;
  const unexpected = opts.allowUnexpected ? [] : r.unexpected;
  const parts: string[] = [];
  const shapes = r.shape.map((s) => `size mismatch for ${s.name}: expected [${s.expected.join(', ')}], found [${s.found.join(', ')}]`);
  const dtypes = r.dtype.map((d) => `dtype mismatch for ${d.name}: expected ${d.expected}, found ${d.found}`);
  parts.push(...shapes.slice(0, MESSAGE_LIST_LIMIT));
  if (shapes.length > MESSAGE_LIST_LIMIT) parts.push(`… and ${shapes.length - MESSAGE_LIST_LIMIT} more size mismatches`);
  parts.push(...dtypes.slice(0, MESSAGE_LIST_LIMIT));
  if (dtypes.length > MESSAGE_LIST_LIMIT) parts.push(`… and ${dtypes.length - MESSAGE_LIST_LIMIT} more dtype mismatches`);
  if (missing.length) parts.push(`missing: ${list(missing)}`);
  if (unexpected.length) parts.push(`unexpected: ${list(unexpected)}`);
  const bad = new Set<string>([...missing, ...unexpected, ...r.shape.map((s) => s.name), ...r.dtype.map((d) => d.name)]).size;
  const onlyDtype = missing.length === 0 && unexpected.length === 0 && r.shape.length === 0;
  const where = opts.path ? `${opts.path}: ` : '';
  throw new CompatibilityError(
    onlyDtype ? 'DTYPE_MISMATCH' : 'SHAPE_MISMATCH',
    `${where}${bad} tensor${bad === 1 ? '' : 's'} do${bad === 1 ? 'es' : ''} not fit the model: ${parts.join('; ')}`,
    { path: opts.path, data: { missing, unexpected, shape: r.shape, dtype: r.dtype } },
  );
}

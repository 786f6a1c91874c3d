// The fuzzing campaigns: one per parser of untrusted input — the safetensors
// header, the sidecar, the sharded index (and its sidecar), the checkpoint
// manifest, the registry, and .pt files (zip + pickle). Each campaign draws
// inputs from fast-check generators that both MUTATE valid files (JSON-aware
// edits and byte edits) and BUILD hostile ones from scratch, and checks one
// property: the parser gives a value or a typed CheckpointError — never any
// other exception, never a hang — within a time bound per input and a memory
// bound per campaign. `npm test` runs a sample (test/fuzz.test.js); `npm run
// soak` the full count (scripts/soak.js). Runs are reproducible from the seed.
import fc from 'fast-check';
import {
  parseHeader, verify, sign, readSafetensors, writeSafetensors, listCheckpoints, readTorchFile, MemoryStore, CheckpointError,
} from '../dist/index.js';
import { readRegistry } from '../dist/checkpoint/registry.js';
import { silentLogger } from '../dist/log/logger.js';
import { readRepoFile } from './_env.js';
import { Pickle, torchZip, tensorOp, bytesOf, pickleOf } from './_torchfile.js';

const enc = new TextEncoder(), dec = new TextDecoder();
const KEY = 'fuzz-key';

// ---------------------------------------------------------------- generic generators

/** Values a hostile JSON document puts where a parser expects something else. */
const nasty = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1.5, 0.001, -0, 2 ** 53, 2 ** 53 + 2, 2 ** 60, 1e308, -1e308, 2 ** 64, '', '0', 'x'.repeat(300),
    '__proto__', 'constructor', 'toString', '\u0000', '\ud800', '..', '../x', '/abs', 'a/b', 'step-00000001', {}, [], [[]], { __proto__: null }),
  fc.jsonValue({ maxDepth: 3 }),
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.double(),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map((b) => Number(b)),
);

/** Every path to a value inside a JSON value: [[key, key, …], …] (the root is []). */
function paths(v, at = [], out = [], limit = 400) {
  out.push(at);
  if (out.length >= limit || v === null || typeof v !== 'object') return out;
  for (const k of Object.keys(v)) paths(v[k], [...at, Array.isArray(v) ? Number(k) : k], out, limit);
  return out;
}

/** A JSON-aware edit of a document: replace, delete, add a member, duplicate a key, wrap, or nest deeply. */
const jsonEdit = fc.record({
  kind: fc.constantFrom('replace', 'replace', 'replace', 'delete', 'add', 'proto', 'wrap', 'deep', 'dupkey', 'reorder'),
  at: fc.nat(),
  key: fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('__proto__', 'hmac', 'sha256', 'size', 'format_version', 'tensors', 'files', 'step', 'weight_map', 'shards', 'models')),
  value: nasty,
  depth: fc.integer({ min: 1, max: 20000 }),
});

function applyJsonEdits(doc, edits) {
  let root = structuredClone(doc);
  let text = null;
  for (const e of edits) {
    const ps = paths(root);
    const p = ps[e.at % ps.length];
    const walk = (q) => q.reduce((o, k) => (o !== null && typeof o === 'object' ? o[k] : undefined), root);
    const parent = p.length ? walk(p.slice(0, -1)) : null;
    if (p.length && (parent === null || typeof parent !== 'object')) continue;
    const last = p[p.length - 1];
    const target = walk(p);
    switch (e.kind) {
      case 'replace': if (parent) parent[last] = e.value; else root = e.value; break;
      case 'delete': if (parent) { if (Array.isArray(parent)) parent.splice(last, 1); else delete parent[last]; } break;
      case 'add': if (target && typeof target === 'object' && !Array.isArray(target)) Object.defineProperty(target, e.key, { value: e.value, enumerable: true, writable: true, configurable: true }); break;
      case 'proto': if (target && typeof target === 'object') Object.defineProperty(target, '__proto__', { value: e.value, enumerable: true, writable: true, configurable: true }); break;
      case 'wrap': if (parent) parent[last] = [target]; break;
      case 'deep': if (parent) parent[last] = JSON.parse('['.repeat(Math.min(e.depth, 3000)) + ']'.repeat(Math.min(e.depth, 3000))); break;
      case 'reorder': if (target && typeof target === 'object' && !Array.isArray(target)) { const ks = Object.keys(target).reverse(); const o = {}; for (const k of ks) o[k] = target[k]; if (parent) parent[last] = o; else root = o; } break;
      case 'dupkey': text = null; break;
      default: break;
    }
  }
  text = JSON.stringify(root) ?? 'null';
  const dup = edits.find((e) => e.kind === 'dupkey');
  if (dup) text = text.replace(/^\{/, `{${JSON.stringify(dup.key)}:${JSON.stringify(dup.value) ?? 'null'},`);
  return enc.encode(text);
}

/** A byte-level edit: flip, set, delete, insert, truncate, splice in a JSON token. */
const byteEdit = fc.record({
  kind: fc.constantFrom('flip', 'set', 'delete', 'insert', 'truncate', 'token'),
  at: fc.nat(),
  byte: fc.integer({ min: 0, max: 255 }),
  token: fc.constantFrom('{', '}', '[', ']', ',', ':', '"', '\\', '1e999', '-0', 'null', '\\ud800', '"__proto__"', '9007199254740993', '0.5'),
});

function applyByteEdits(bytes, edits) {
  let b = Array.from(bytes);
  for (const e of edits) {
    const at = b.length ? e.at % (b.length + 1) : 0;
    if (e.kind === 'flip' && b.length) b[Math.min(at, b.length - 1)] ^= 1 << (e.byte & 7);
    else if (e.kind === 'set' && b.length) b[Math.min(at, b.length - 1)] = e.byte;
    else if (e.kind === 'delete') b.splice(at, 1 + (e.byte & 7));
    else if (e.kind === 'insert') b.splice(at, 0, e.byte);
    else if (e.kind === 'truncate') b = b.slice(0, at);
    else if (e.kind === 'token') b.splice(at, 0, ...enc.encode(e.token));
  }
  return Uint8Array.from(b);
}

/** A document input: a JSON-edited valid doc, a byte-edited one, or a hostile one built whole. */
const docInput = (count) => fc.oneof(
  { weight: 5, arbitrary: fc.record({ mode: fc.constant('json'), base: fc.nat(count - 1), edits: fc.array(jsonEdit, { minLength: 1, maxLength: 4 }) }) },
  { weight: 3, arbitrary: fc.record({ mode: fc.constant('bytes'), base: fc.nat(count - 1), edits: fc.array(byteEdit, { minLength: 1, maxLength: 4 }) }) },
  { weight: 2, arbitrary: fc.record({ mode: fc.constant('built'), value: fc.oneof(fc.jsonValue({ maxDepth: 4 }), fc.dictionary(fc.string({ maxLength: 10 }), nasty)) }) },
);

function docBytes(input, bases) {
  if (input.mode === 'json') return applyJsonEdits(bases[input.base].doc, input.edits);
  if (input.mode === 'bytes') return applyByteEdits(bases[input.base].bytes, input.edits);
  return enc.encode(JSON.stringify(input.value) ?? 'null');
}

// ---------------------------------------------------------------- the campaigns

async function safetensorsModel(seed) {
  const n = 1 + (seed % 4);
  const t = {};
  for (let i = 0; i < n; i++) t[`layer${i}.weight`] = { dtype: ['F32', 'BF16', 'U8', 'I64'][i % 4], shape: [2, i + 1], data: new Uint8Array(2 * (i + 1) * [4, 2, 1, 8][i % 4]).map((_, j) => (j * 31 + seed) & 255) };
  return t;
}

export const CAMPAIGNS = {
  header: {
    what: 'safetensors header (parseHeader)',
    async setup() {
      const bases = [];
      for (const name of ['single_f32', 'dtypes_common', 'dtypes_f8', 'scalar_0dim', 'empty_tensors', 'metadata', 'state_dict_f32']) {
        const bytes = await readRepoFile(`test/fixtures/reference/safetensors/valid/${name}.safetensors`);
        const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
        bases.push({ bytes: bytes.slice(8, 8 + n), doc: JSON.parse(dec.decode(bytes.subarray(8, 8 + n))), data: bytes.length - 8 - n });
      }
      return { bases };
    },
    // Mostly the right length prefix and data size, so the edits reach the JSON rules; sometimes neither.
    arbitrary: ({ bases }) => fc.record({
      doc: fc.oneof({ weight: 1, arbitrary: fc.record({ mode: fc.constant('json'), base: fc.nat(bases.length - 1), edits: fc.constant([]) }) }, { weight: 6, arbitrary: docInput(bases.length) }),
      base: fc.nat(bases.length - 1),
      prefix: fc.oneof({ weight: 8, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) }),
      extra: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -8, max: 64 }) }),
    }),
    async run({ bases }, x) {
      const header = docBytes(x.doc, bases);
      const data = x.doc.mode === 'built' ? 0 : bases[x.doc.base].data;
      const out = new Uint8Array(8 + header.length + Math.max(0, data + x.extra));
      new DataView(out.buffer).setBigUint64(0, x.prefix ?? BigInt(header.length), true);
      out.set(header, 8);
      const h = parseHeader(out);
      for (const t of h.tensors()) void t.shape;
    },
  },

  sidecar: {
    what: 'sidecar JSON (verify, sign, readSafetensors with a key)',
    async setup() {
      const bases = [];
      for (let i = 0; i < 4; i++) {
        const store = new MemoryStore();
        await writeSafetensors({ store, key: 'm.safetensors' }, await safetensorsModel(i), { key: i % 2 ? KEY : undefined, metadata: i === 2 ? { a: 'b' } : undefined });
        const bytes = await store.read('m.safetensors.meta.json');
        bases.push({ file: await store.read('m.safetensors'), bytes, doc: JSON.parse(dec.decode(bytes)) });
      }
      return { bases };
    },
    arbitrary: ({ bases }) => fc.record({ doc: docInput(bases.length), base: fc.nat(bases.length - 1), op: fc.constantFrom('verify', 'verify-key', 'read-key', 'sign') }),
    async run({ bases }, x) {
      const store = new MemoryStore({ 'm.safetensors': bases[x.base].file, 'm.safetensors.meta.json': docBytes(x.doc, bases) });
      const ref = { store, key: 'm.safetensors' };
      if (x.op === 'verify') await verify(ref);
      else if (x.op === 'verify-key') await verify(ref, { key: KEY });
      else if (x.op === 'read-key') await (await readSafetensors(ref, { key: KEY })).load();
      else await sign(ref, KEY);
    },
  },

  index: {
    what: 'sharded index and index-sidecar JSON (verify, readSafetensors)',
    async setup() {
      const bases = [];
      for (let i = 0; i < 3; i++) {
        const store = new MemoryStore();
        await writeSafetensors({ store, key: 'model.safetensors' }, await safetensorsModel(i + 2), { key: KEY, maxShardSize: 24 });
        const files = Object.fromEntries(await Promise.all((await store.list('')).map(async (e) => [e.key, await store.read(e.key)])));
        for (const which of ['model.safetensors.index.json', 'model.safetensors.index.json.meta.json']) {
          bases.push({ files, which, bytes: files[which], doc: JSON.parse(dec.decode(files[which])) });
        }
      }
      return { bases };
    },
    arbitrary: ({ bases }) => fc.record({ doc: docInput(bases.length), op: fc.constantFrom('verify', 'verify-key', 'read', 'read-key') }),
    async run({ bases }, x) {
      const base = x.doc.mode === 'built' ? bases[0] : bases[x.doc.base];
      const store = new MemoryStore({ ...base.files, [base.which]: docBytes(x.doc, bases) });
      const ref = { store, key: 'model.safetensors.index.json' };
      if (x.op === 'verify') await verify(ref);
      else if (x.op === 'verify-key') await verify(ref, { key: KEY });
      else await (await readSafetensors(ref, x.op === 'read-key' ? { key: KEY } : {})).load();
    },
  },

  manifest: {
    what: 'checkpoint manifest JSON (verify, listCheckpoints)',
    async setup() {
      const dir = 'test/fixtures/checkpoint/adam-node/step-00000020';
      const files = {};
      for (const f of ['checkpoint.json', 'model.safetensors', 'model.safetensors.meta.json', 'optimizer.safetensors', 'optimizer.safetensors.meta.json', 'trainer_state.json', 'vocab.json']) {
        files[`step-00000020/${f}`] = await readRepoFile(`${dir}/${f}`);
      }
      files.LATEST = enc.encode('step-00000020\n');
      const bytes = files['step-00000020/checkpoint.json'];
      return { files, bases: [{ bytes, doc: JSON.parse(dec.decode(bytes)) }] };
    },
    arbitrary: ({ bases }) => fc.record({ doc: docInput(bases.length), op: fc.constantFrom('verify', 'verify-key', 'list') }),
    async run({ files, bases }, x) {
      const store = new MemoryStore({ ...files, 'step-00000020/checkpoint.json': docBytes(x.doc, bases) });
      if (x.op === 'list') await listCheckpoints({ store, key: '' });
      else await verify({ store, key: '' }, x.op === 'verify-key' ? { key: KEY } : {});
    },
  },

  registry: {
    what: 'registry JSON (readRegistry, as a save reads it)',
    async setup() {
      const bytes = await readRepoFile('test/fixtures/checkpoint/adam-node/registry.json');
      return { bases: [{ bytes, doc: JSON.parse(dec.decode(bytes)) }] };
    },
    arbitrary: ({ bases }) => fc.record({ doc: docInput(bases.length) }),
    async run({ bases }, x) {
      const store = new MemoryStore({ 'registry.json': docBytes(x.doc, bases) });
      await readRegistry(store, '', silentLogger);
    },
  },

  torch: {
    what: '.pt files: zip + pickle (readTorchFile)',
    async setup() {
      const bases = [];
      for (const stem of ['state_dict_f32', 'dtypes', 'training_checkpoint', 'legacy_nonzip']) {
        const bytes = await readRepoFile(`test/fixtures/reference/torch/${stem}.pt`);
        bases.push({ bytes, pickleEnd: stem === 'legacy_nonzip' ? 1348 : 64 + (bytes[26] | 0) + 1500 });
      }
      return { bases };
    },
    arbitrary: ({ bases }) => fc.oneof(
      { weight: 4, arbitrary: fc.record({ mode: fc.constant('mutate'), base: fc.nat(bases.length - 1), edits: fc.array(byteEdit, { minLength: 1, maxLength: 4 }), inPickle: fc.boolean() }) },
      { weight: 4, arbitrary: fc.record({ mode: fc.constant('pickle'), ops: fc.array(pickleOp, { minLength: 1, maxLength: 60 }), withTensor: fc.boolean(), deflate: fc.boolean() }) },
      { weight: 2, arbitrary: fc.record({ mode: fc.constant('value'), value: pyValue }) },
    ),
    async run({ bases }, x) {
      let bytes;
      if (x.mode === 'mutate') {
        const b = bases[x.base];
        if (x.inPickle) {
          const head = b.bytes.subarray(0, Math.min(b.pickleEnd, b.bytes.length));
          const edited = applyByteEdits(head, x.edits);
          bytes = new Uint8Array(edited.length + b.bytes.length - head.length);
          bytes.set(edited);
          bytes.set(b.bytes.subarray(head.length), edited.length);
        } else bytes = applyByteEdits(b.bytes, x.edits);
      } else if (x.mode === 'pickle') {
        const p = new Pickle().proto(2);
        if (x.withTensor) { tensorOp({ key: '0', numel: 4, shape: [2, 2] })(p); p.put(); }
        for (const op of x.ops) emitOp(p, op);
        p.stop();
        bytes = torchZip({ pickle: p.toBytes(), storages: { 0: bytesOf(new Float32Array([1, 2, 3, 4])) }, deflate: x.deflate });
      } else {
        bytes = torchZip({ pickle: pickleOf(x.value), storages: {} });
      }
      const f = await readTorchFile(bytes, { verifyCrc: (bytes.length & 1) === 0 });
      for (const t of f.tensors.values()) if (t.bytes().length !== t.byteLength) throw new Error(`${t.name}: bytes() length ${t.bytes().length} ≠ byteLength ${t.byteLength}`);
    },
  },
};

/** One pickle opcode with arguments, drawn from every opcode family (and some bytes that are none). */
const pickleOp = fc.oneof(
  fc.record({ op: fc.constantFrom('mark', 'none', 'true', 'false', 'emptyList', 'emptyDict', 'emptyTuple', 'tuple', 'tuple1', 'tuple2', 'list', 'append', 'appends', 'setitem', 'setitems', 'reduce', 'build', 'binpersid', 'pop', 'dup', 'stop', 'newobj', 'frozenset', 'additems', 'emptySet', 'memoize', 'popmark', 'stackGlobal') }),
  fc.record({ op: fc.constant('int'), v: fc.oneof(fc.integer(), fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n })) }),
  fc.record({ op: fc.constant('float'), v: fc.double() }),
  fc.record({ op: fc.constant('str'), v: fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('storage', 'cpu', '0', '__proto__')) }),
  fc.record({ op: fc.constant('global'), m: fc.constantFrom('torch._utils', 'torch', 'collections', 'builtins', 'os', 'numpy.core.multiarray', 'argparse', '__builtin__'), n: fc.constantFrom('_rebuild_tensor_v2', '_rebuild_parameter', 'FloatStorage', 'OrderedDict', 'dict', 'set', 'eval', 'system', '_reconstruct', 'Namespace', 'float32', 'Size', 'getattr') }),
  fc.record({ op: fc.constant('put'), i: fc.nat(300) }),
  fc.record({ op: fc.constant('get'), i: fc.nat(300) }),
  fc.record({ op: fc.constant('raw'), b: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ op: fc.constant('repeat'), what: fc.constantFrom('tuple1', 'emptyList', 'mark', 'dup'), n: fc.integer({ min: 100, max: 5000 }) }),
);

function emitOp(p, o) {
  const simple = { mark: 0x28, none: 0x4e, true: 0x88, false: 0x89, emptyList: 0x5d, emptyDict: 0x7d, emptyTuple: 0x29, tuple: 0x74, tuple1: 0x85, tuple2: 0x86,
    list: 0x6c, append: 0x61, appends: 0x65, setitem: 0x73, setitems: 0x75, reduce: 0x52, build: 0x62, binpersid: 0x51, pop: 0x30, dup: 0x32, stop: 0x2e,
    newobj: 0x81, frozenset: 0x91, additems: 0x90, emptySet: 0x8f, memoize: 0x94, popmark: 0x31, stackGlobal: 0x93 };
  if (o.op in simple) p.raw(simple[o.op]);
  else if (o.op === 'int') p.int(o.v);
  else if (o.op === 'float') p.float(o.v);
  else if (o.op === 'str') p.str(o.v);
  else if (o.op === 'global') p.global(o.m, o.n);
  else if (o.op === 'put') p.raw(0x72, ...p.u32(o.i));
  else if (o.op === 'get') p.raw(0x6a, ...p.u32(o.i));
  else if (o.op === 'raw') p.raw(o.b);
  else if (o.op === 'repeat') p.raw(...new Array(o.n).fill(simple[o.what]));
}

/** A Python value for pickleOf: nested containers, big ints, odd floats and keys. */
const pyValue = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' },
    fc.constantFrom(null, true, false, 0, -1, 0.5, Number.NaN, Infinity),
    fc.integer(), fc.bigInt({ min: -(2n ** 100n), max: 2n ** 100n }), fc.string({ maxLength: 8 }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('__proto__', '0', '1')), tie('value'), { maxKeys: 4 }),
    fc.array(tie('value'), { maxLength: 3 }).map((a) => ({ __tuple__: a }))),
})).value;

// ---------------------------------------------------------------- running

/**
 * Runs `runs` inputs of one campaign. Each must finish as a value or a CheckpointError within
 * `timeBoundMs`; an input that breaks the property fails the run (fast-check shrinks it and prints the
 * seed and path to replay it: `runCampaign(name, { runs, seed, path })`). Returns the counts.
 */
export async function runCampaign(name, { runs, seed = 0x5afec4, path, timeBoundMs = 10_000, memoryBoundBytes = 1024 ** 3, log = () => {} }) {
  const c = CAMPAIGNS[name];
  const ctx = await c.setup();
  const counts = { campaign: name, what: c.what, runs: 0, ok: 0, errors: {}, maxMs: 0, peakRssMB: 0, seed };
  const rss = () => (globalThis.process?.memoryUsage ? process.memoryUsage().rss : globalThis.Deno?.memoryUsage ? Deno.memoryUsage().rss : 0);
  const started = Date.now();
  await fc.assert(fc.asyncProperty(c.arbitrary(ctx), async (input) => {
    const t0 = Date.now();
    let outcome = 'ok';
    try {
      await c.run(ctx, input);
    } catch (e) {
      if (!(e instanceof CheckpointError)) throw new Error(`${name}: escaped as ${e?.constructor?.name}: ${e?.stack ?? e}`);
      outcome = e.code;
    }
    const ms = Date.now() - t0;
    counts.runs++;
    if (outcome === 'ok') counts.ok++; else counts.errors[outcome] = (counts.errors[outcome] ?? 0) + 1;
    if (ms > counts.maxMs) counts.maxMs = ms;
    if (ms > timeBoundMs) throw new Error(`${name}: one input took ${ms} ms (bound ${timeBoundMs} ms)`);
    if (counts.runs % 1000 === 0) {
      const r = rss();
      counts.peakRssMB = Math.max(counts.peakRssMB, Math.round(r / 1048576));
      if (r > memoryBoundBytes) throw new Error(`${name}: resident memory ${Math.round(r / 1048576)} MB past the bound of ${Math.round(memoryBoundBytes / 1048576)} MB`);
      if (counts.runs % 10000 === 0) log(`${name}: ${counts.runs} inputs, ${Math.round((Date.now() - started) / 1000)} s`);
    }
  }), { numRuns: runs, seed, endOnFailure: true, ...(path === undefined ? {} : { path }) });
  counts.peakRssMB = Math.max(counts.peakRssMB, Math.round(rss() / 1048576));
  counts.seconds = Math.round((Date.now() - started) / 100) / 10;
  return counts;
}

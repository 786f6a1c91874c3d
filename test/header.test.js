import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseHeader, readHeaderLength, checkShapes, compareShapes, CheckpointError, sha256, toHex } from '../dist/index.js';
import { readRepoFile, readRepoJson, listRepoDir, rng } from './_env.js';

const DIR = 'test/fixtures/reference/safetensors';
const enc = new TextEncoder();

/** A safetensors file from header text (or bytes) and a data region of `dataLength` zero bytes. */
function file(header, dataLength = 0) {
  const h = typeof header === 'string' ? enc.encode(header) : header;
  const out = new Uint8Array(8 + h.length + dataLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  return out;
}
/** The error parseHeader throws, or undefined. */
function errorOf(bytes, opts) {
  try {
    parseHeader(bytes, opts);
  } catch (e) {
    return e;
  }
  return undefined;
}
function rejects(bytes, detail, msg, opts) {
  const e = errorOf(bytes, opts);
  assert.ok(e instanceof CheckpointError, `${msg ?? detail}: expected a CheckpointError, got ${e}`);
  assert.is(e.detail, detail, `${msg ?? detail}: ${e.message}`);
  assert.ok(e.code === 'CORRUPT' || e.code === 'UNSUPPORTED', e.code);
  return e;
}
/** The reference's error kind (`InvalidOffset("b")`) as a safeckpt detail (`INVALID_OFFSET`). */
const detailOf = (debug) => debug.replace(/\(.*$/s, '').replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();

const verdicts = await readRepoJson(`${DIR}/verdicts.json`);
const byFile = new Map(verdicts.files.map((f) => [f.file, f.verdict['main-24b0b28']]));
const fixtureFiles = [];
for (const sub of ['valid', 'crafted']) {
  for (const name of await listRepoDir(`${DIR}/${sub}`)) if (name.endsWith('.safetensors')) fixtureFiles.push(`${sub}/${name}`);
}
/** Where safeckpt deliberately differs from the reference: repeated tensor names are refused. */
const DUPLICATE_NAME_FIXTURES = new Set(['crafted/duplicate_tensor_keys_identical.safetensors', 'crafted/duplicate_tensor_keys_conflicting.safetensors']);

const V = suite('parseHeader: the reference verdict on every fixture');
V('every fixture file has a recorded verdict', () => {
  assert.ok(fixtureFiles.length >= 50, `${fixtureFiles.length} fixtures`);
  for (const f of fixtureFiles) assert.ok(byFile.has(f), `no verdict for ${f}`);
});
for (const f of fixtureFiles) {
  V(f, async () => {
    const want = byFile.get(f);
    const bytes = await readRepoFile(`${DIR}/${f}`);
    if (DUPLICATE_NAME_FIXTURES.has(f)) {
      const e = rejects(bytes, 'DUPLICATE_TENSOR', f);
      assert.is(e.tensor, 't');
      assert.match(e.message, /more than once/);
      return;
    }
    if (want.ok) {
      const h = parseHeader(bytes, { path: f });
      assert.is(h.dataStart + h.dataLength, bytes.length);
    } else {
      const e = rejects(bytes, detailOf(want.error_debug), f, { path: f });
      assert.is(e.path, f);
      assert.type(e.position, 'number');
      const named = /\("([^"]*)"\)$/.exec(want.error_debug);
      if (named && detailOf(want.error_debug) === 'INVALID_OFFSET') assert.is(e.tensor, named[1]);
    }
  });
}
V.run();

const T = suite('parseHeader: tensor tables equal the reference writer\'s');
for (const f of fixtureFiles.filter((x) => x.startsWith('valid/'))) {
  T(f, async () => {
    const bytes = await readRepoFile(`${DIR}/${f}`);
    const want = await readRepoJson(`${DIR}/${f.replace(/\.safetensors$/, '.expected.json')}`);
    const h = parseHeader(bytes);
    assert.is(h.headerLength, want.header_len);
    assert.is(h.dataStart, 8 + want.header_len);
    assert.is(h.size, Object.keys(want.tensors).length);
    // file order is the JSON object's key order (read here by JSON.parse, an independent parser)
    const json = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + want.header_len)));
    assert.equal(h.names(), Object.keys(json).filter((k) => k !== '__metadata__'));
    assert.equal(h.metadata, want.metadata);
    for (const [name, t] of Object.entries(want.tensors)) {
      const info = h.get(name);
      assert.ok(info, name);
      assert.is(info.name, name);
      assert.is(info.dtype, t.dtype, name);
      assert.equal(info.shape, t.shape, name);
      assert.equal([info.begin, info.end], t.data_offsets, name);
      assert.is(info.byteLength, t.nbytes, name);
      assert.is(toHex(sha256(bytes.subarray(h.dataStart + info.begin, h.dataStart + info.end))), t.sha256, name);
    }
  });
}
T.run();

const L = suite('parseHeader: lazy access and partial input');
L('get() of an absent name is undefined; names() is a copy; tensors() is file order', async () => {
  const h = parseHeader(await readRepoFile(`${DIR}/valid/many_2000.safetensors`));
  assert.is(h.get('no such tensor'), undefined);
  const names = h.names();
  names.pop();
  assert.is(h.names().length, 2000);
  assert.equal([...h.tensors()].map((t) => t.name), h.names());
  assert.is(h.get(h.names()[1999]), [...h.tensors()][1999], 'one TensorInfo per tensor, reused');
});
L('10,000 tensors listed out of offset order: sorted in the core, names kept in file order', () => {
  const obj = {};
  const order = Array.from({ length: 10000 }, (_, i) => (i * 7919) % 10000); // a permutation
  for (const i of order) obj[`layer.${i}.${i % 3 ? 'w' : 'ß'}`] = { dtype: 'F16', shape: [i % 5, 2], data_offsets: [0, 0] };
  let off = 0;
  for (let i = 0; i < 10000; i++) {
    const t = obj[`layer.${i}.${i % 3 ? 'w' : 'ß'}`];
    t.data_offsets = [off, off + (i % 5) * 4];
    off += (i % 5) * 4;
  }
  const h = parseHeader(file(JSON.stringify(obj), off));
  assert.equal(h.names(), Object.keys(obj));
  assert.equal(h.get('layer.9999.ß'), { name: 'layer.9999.ß', dtype: 'F16', shape: [4, 2], begin: off - 16, end: off, byteLength: 16 });
  obj['layer.5000.w'].data_offsets[1]++;
  const e = rejects(file(JSON.stringify(obj), off), 'TENSOR_INVALID_INFO', 'one size off');
  assert.is(e.tensor, 'layer.5000.w');
});
L('the first 8 + N bytes with fileSize give the same table as the whole file', async () => {
  const whole = await readRepoFile(`${DIR}/valid/large_1mb.safetensors`);
  const n = readHeaderLength(whole.subarray(0, 8), { fileSize: whole.length });
  const part = parseHeader(whole.slice(0, 8 + n), { fileSize: whole.length });
  const full = parseHeader(whole);
  assert.equal([...part.tensors()], [...full.tensors()]);
  assert.is(part.dataLength, full.dataLength);
});
L('fewer than 8 + N bytes are refused with what to pass', async () => {
  const whole = await readRepoFile(`${DIR}/valid/single_f32.safetensors`);
  const e = rejects(whole.subarray(0, 20), 'INVALID_HEADER_LENGTH', 'short input', { fileSize: whole.length });
  assert.match(e.message, /pass the first \d+ bytes/);
});
L('a fileSize that disagrees with the offsets is METADATA_INCOMPLETE_BUFFER', async () => {
  const whole = await readRepoFile(`${DIR}/valid/single_f32.safetensors`);
  rejects(whole, 'METADATA_INCOMPLETE_BUFFER', 'longer file', { fileSize: whole.length + 1 });
  rejects(whole.subarray(0, whole.length - 1), 'METADATA_INCOMPLETE_BUFFER', 'truncated data');
});
L('a 2^63 or u64-max length is refused from the 8 bytes alone, before any allocation', () => {
  for (const hi of [0x80000000, 0xffffffff]) {
    const first8 = new Uint8Array(8);
    new DataView(first8.buffer).setUint32(4, hi, true);
    const e = (() => { try { readHeaderLength(first8, { fileSize: 2 ** 53 }); } catch (x) { return x; } })();
    assert.is(e.detail, 'HEADER_TOO_LARGE');
    // the whole "file" is only its 8-byte prefix: nothing past it is needed to refuse
    assert.is(errorOf(first8, { fileSize: 2 ** 53 }).detail, 'HEADER_TOO_LARGE');
  }
  const cap = new Uint8Array(8);
  new DataView(cap.buffer).setUint32(0, 100_000_001, true);
  assert.is(errorOf(cap, { fileSize: 2 ** 40 }).detail, 'HEADER_TOO_LARGE');
});
L.run();

const R = suite('parseHeader: serde_json and reference rules beyond the fixtures');
const T0 = '"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}';
const ok = (json, data = 8, msg) => {
  const e = errorOf(file(json, data));
  assert.is(e, undefined, `${msg ?? json}: ${e && e.message}`);
  return parseHeader(file(json, data));
};
R('accepts the serde forms the reference inherits: [dtype, shape, offsets] and {"F32": null}', () => {
  assert.equal(ok('{"t":["F32",[2],[0,8]]}').get('t').shape, [2]);
  assert.is(ok('{"t":{"dtype":{"F32":null},"shape":[2],"data_offsets":[0,8]}}').get('t').dtype, 'F32');
  assert.is(ok('{"t":{"dtype":{"F32":{ }},"shape":[2],"data_offsets":[0,8]}}').get('t').dtype, 'F32');
  rejects(file('{"t":{"dtype":{"F32":1},"shape":[2],"data_offsets":[0,8]}}', 8), 'INVALID_HEADER_DESERIALIZATION');
  rejects(file('{"t":{"dtype":{"F32":null,"F16":null},"shape":[2],"data_offsets":[0,8]}}', 8), 'INVALID_HEADER_DESERIALIZATION');
  rejects(file('{"t":["F32",[2]]}', 8), 'INVALID_HEADER_DESERIALIZATION');
  rejects(file('{"t":["F32",[2],[0,8],1]}', 8), 'INVALID_HEADER_DESERIALIZATION');
});
R('decodes escapes in keys, field names and dtypes before matching them', () => {
  const h = ok('{"\\u005f_metadata__":{"k":"v"},"\\ud83d\\ude00\\/x":{"d\\u0074ype":"F\\u00332","shape":[2],"data_offsets":[0,8]}}');
  assert.equal(h.metadata, { k: 'v' });
  assert.equal(h.names(), ['😀/x']);
  assert.is(h.get('😀/x').dtype, 'F32');
});
R('refuses what JSON.parse accepts but serde_json does not', () => {
  for (const [json, what] of [
    [`{"\\ud800":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, 'lone high surrogate'],
    [`{"\\udc00x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, 'lone low surrogate'],
    [`{"\\ud800\\u0041":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, 'high surrogate then BMP escape'],
    [`{${T0},"extra":1}`.replace('"shape"', '"x":1e400,"shape"'), 'number out of range in an unknown field'],
    [`{${T0},"__metadata__":{},"__metadata__":{}}`, 'duplicated __metadata__'],
    [`{"t":{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, 'duplicate field'],
    [`{${T0}}\u0000`, 'trailing NUL'],
    [`{${T0},}`, 'trailing comma'],
    [`{"a\tb":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, 'raw control character in a name'],
    [`{"t":{"dtype":"F32","shape":[-0],"data_offsets":[0,8]}}`, '-0 dimension'],
    [`{"t":{"dtype":"F32","shape":[2e0],"data_offsets":[0,8]}}`, 'exponent dimension'],
    [`{"t":{"dtype":"F32","shape":[18446744073709551616],"data_offsets":[0,8]}}`, 'dimension past u64'],
    [`{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8,8]}}`, 'three offsets'],
    [`{"t":{"dtype":"F32","shape":[02],"data_offsets":[0,8]}}`, 'leading zero'],
    [`{"t":{"dtype":" F32","shape":[2],"data_offsets":[0,8]}}`, 'padded dtype'],
    [`{"t":null}`, 'null tensor entry'],
    [`   `, 'only whitespace'],
  ]) rejects(file(json, 8), 'INVALID_HEADER_DESERIALIZATION', what);
  // 1e308 and 1e-400 are finite for serde: fine in an unknown field
  ok(`{"t":{"x":[1e308,1e-400,-0.0,0e999999999999],"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`);
});
R('a number that overflows an f64 only by its exponent is refused at each of 1e290 … 1e308 (the powers of ten the host writes into the core)', () => {
  const t = (x) => `{"t":{"x":${x},"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`;
  for (let a = 290; a <= 308; a++) {
    const zeros = '0'.repeat(308 - a); // 1…e{a} is 1e308 (finite), 2…e{a} is 2e308 (out of range)
    ok(t(`1${zeros}e${a}`));
    rejects(file(t(`2${zeros}e${a}`), 8), 'INVALID_HEADER_DESERIALIZATION', `2${zeros}e${a}`);
  }
});
R('nesting: 127 levels pass, 128 are refused (serde_json\'s recursion limit)', () => {
  const nest = (k) => `{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":${'['.repeat(k)}${']'.repeat(k)}}}`;
  ok(nest(125)); // outer object + tensor object + 125 arrays = 127
  const e = rejects(file(nest(126), 8), 'INVALID_HEADER_DESERIALIZATION', '128 levels');
  assert.match(e.message, /nested deeper/);
});
R('offsets: any listing order, empty tensors anywhere, and each rule in the reference\'s order', () => {
  ok('{"b":{"dtype":"U8","shape":[4],"data_offsets":[4,8]},"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"e":{"dtype":"U8","shape":[0],"data_offsets":[8,8]}}');
  const h = ok('{"z":{"dtype":"F32","shape":[18446744073709551615,0],"data_offsets":[0,0]}}', 0);
  assert.is(h.get('z').byteLength, 0);
  let e = rejects(file('{"a":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}', 2), 'MISALIGNED_SLICE');
  assert.is(e.tensor, 'a');
  e = rejects(file('{"a":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,1]}}', 1), 'VALIDATION_OVERFLOW');
  e = rejects(file('{"a":{"dtype":"U64","shape":[2305843009213693952],"data_offsets":[0,1]}}', 1), 'VALIDATION_OVERFLOW', 'numel × bits overflows');
  // a bad size before a bad offset in offset order: the size error wins, as in the reference
  const json = '{"b":{"dtype":"U8","shape":[9],"data_offsets":[5,14]},"a":{"dtype":"U8","shape":[4],"data_offsets":[0,5]}}';
  e = rejects(file(json, 14), 'TENSOR_INVALID_INFO');
  assert.is(e.tensor, 'a');
  assert.is(e.position, 8 + json.indexOf('"a"'));
  assert.match(e.message, /U8 \[4\] needs 4 bytes, but data_offsets \[0, 5\] span 5/);
  e = rejects(file(`{${T0}}`, 9), 'METADATA_INCOMPLETE_BUFFER', 'trailing data byte');
  assert.match(e.message, /cover 8 bytes of data, but the file has 9/);
});
R('errors name the tensor, the byte position and the problem', () => {
  const json = '{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"enc.layer":{"dtype":"f16","shape":[2],"data_offsets":[8,12]}}';
  const e = rejects(file(json, 12), 'INVALID_HEADER_DESERIALIZATION');
  assert.is(e.code, 'UNSUPPORTED');
  assert.is(e.tensor, 'enc.layer');
  assert.is(e.position, 8 + json.indexOf('f16'));
  assert.match(e.message, /unknown dtype \(found "f16"\)/);
  const u = rejects(file(new Uint8Array([...enc.encode('{"a'), 0xc3, 0x28, ...enc.encode('":1}')])), 'INVALID_HEADER');
  assert.is(u.position, 8 + 3);
});
R('numbers of every length read the same in the writer\'s compact layout and in any other (8-digit steps, fast path)', () => {
  const spaced = (json) => JSON.stringify(JSON.parse(json), null, 1);
  const both = (json, dataLength) => {
    const head = (text) => { const b = enc.encode(text); const out = new Uint8Array(8 + b.length); new DataView(out.buffer).setBigUint64(0, BigInt(b.length), true); out.set(b, 8); return out; };
    const verdict = (bytes) => { try { const h = parseHeader(bytes, { fileSize: bytes.length + dataLength }); return [...h.tensors()].map((t) => [t.name, t.dtype, t.shape, t.begin, t.end]); } catch (e) { return e.detail; } };
    return [verdict(head(json)), verdict(head(spaced(json)))];
  };
  for (let digits = 1; digits <= 16; digits++) {
    for (const n of [10 ** (digits - 1), 10 ** digits - 1, Math.floor(10 ** (digits - 1) * 1.23456789)].filter((x) => x <= 2 ** 53)) {
      const json = `{"t":{"dtype":"U8","shape":[${n}],"data_offsets":[0,${n}]},"z":{"dtype":"F32","shape":[${n},0,${n}],"data_offsets":[${n},${n}]}}`;
      const [compact, other] = both(json, n);
      assert.equal(compact, other, `${digits} digits`);
      assert.equal(compact[0], ['t', 'U8', [n], 0, n], `${digits} digits`);
    }
  }
  for (const bad of ['01', '1.0', '1e1', '1E1', '-1', '123456789.5', '1234567890123456e0']) {
    const json = `{"t":{"dtype":"U8","shape":[${bad}],"data_offsets":[0,1]}}`;
    const e = errorOf(file(json, 1));
    assert.is(e && e.detail, 'INVALID_HEADER_DESERIALIZATION', bad);
  }
  // 19 and 20 digits: u64::MAX is the last accepted dimension
  ok('{"z":{"dtype":"F32","shape":[18446744073709551615,0],"data_offsets":[0,0]}}', 0);
  ok('{"z":{"dtype":"F32","shape":[1234567890123456789,0],"data_offsets":[0,0]}}', 0);
});
R('an entry that leaves the compact layout half-way is read by the general parser from its start', () => {
  for (const json of [
    '{"t":{"dtype":"F32","shape":[2] ,"data_offsets":[0,8]}}',
    '{"t":{"dtype":"F32","shape":[2],"data_offsets":[0, 8]}}',
    '{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8] }}',
    '{"t":{"dtype":"F32","shape":[ 2],"data_offsets":[0,8]}}',
    '{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}}',
    '{"t":{"dtype":"F32","shape":[2],"x":[1,2],"data_offsets":[0,8]}}',
    '{"t":{"dtype":"F\u00332","shape":[2],"data_offsets":[0,8]}}',
  ]) {
    const h = ok(json, 8);
    assert.equal([h.get('t').dtype, h.get('t').shape, h.get('t').begin, h.get('t').end], ['F32', [2], 0, 8], json);
  }
  rejects(file('{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}', 8), 'INVALID_HEADER_DESERIALIZATION', 'no closing brace');
  rejects(file('{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"shape":[2]}}', 8), 'INVALID_HEADER_DESERIALIZATION', 'duplicate field after the compact part');
});
R.run();

const S = suite('checkShapes / compareShapes');
const model = {
  'h.0.attn.weight': { dtype: 'F32', shape: [64, 64] },
  'h.0.attn.bias': { dtype: 'F32', shape: [64] },
  'h.0.mlp.weight': { dtype: 'F32', shape: [256, 64] },
  'wte': { dtype: 'F32', shape: [100, 64] },
};
function checkpointFile(entries) {
  const obj = {};
  let off = 0;
  for (const [name, t] of Object.entries(entries)) {
    const n = t.shape.reduce((a, b) => a * b, 1) * { F32: 4, F16: 2, BF16: 2 }[t.dtype];
    obj[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + n] };
    off += n;
  }
  return parseHeader(file(JSON.stringify(obj), off));
}
S('a matching header passes, in either argument form', () => {
  const h = checkpointFile(model);
  checkShapes(model, h);
  checkShapes(h, model);
  checkShapes(new Map(Object.entries(model)), h);
  assert.equal(compareShapes(model, h), { ok: true, missing: [], unexpected: [], shape: [], dtype: [] });
});
S('reports every missing, unexpected, reshaped and retyped tensor in one SHAPE_MISMATCH', () => {
  const h = checkpointFile({
    'h.0.attn.weight': { dtype: 'F32', shape: [64, 32] },
    'h.0.attn.bias': { dtype: 'F16', shape: [64] },
    'wte': { dtype: 'F32', shape: [100, 64] },
    'lm_head.weight': { dtype: 'F32', shape: [100, 64] },
  });
  let err;
  try { checkShapes(model, h, { path: 'ckpt.safetensors' }); } catch (e) { err = e; }
  assert.ok(err instanceof CheckpointError);
  assert.is(err.code, 'SHAPE_MISMATCH');
  assert.is(err.name, 'CompatibilityError');
  assert.is(err.path, 'ckpt.safetensors');
  assert.equal(err.data, {
    missing: ['h.0.mlp.weight'],
    unexpected: ['lm_head.weight'],
    shape: [{ name: 'h.0.attn.weight', expected: [64, 64], found: [64, 32] }],
    dtype: [{ name: 'h.0.attn.bias', expected: 'F32', found: 'F16' }],
  });
  assert.is(err.message, 'ckpt.safetensors: 4 tensors do not fit the model: size mismatch for h.0.attn.weight: expected [64, 64], found [64, 32]; ' +
    'dtype mismatch for h.0.attn.bias: expected F32, found F16; missing: h.0.mlp.weight; unexpected: lm_head.weight');
});
S('only dtype differences give DTYPE_MISMATCH; a missing dtype accepts any', () => {
  const h = checkpointFile({ ...model, 'wte': { dtype: 'BF16', shape: [100, 64] } });
  try { checkShapes(model, h); assert.unreachable(); } catch (e) {
    assert.is(e.code, 'DTYPE_MISMATCH');
    assert.match(e.message, /^1 tensor does not fit the model: dtype mismatch for wte: expected F32, found BF16$/);
  }
  checkShapes({ ...model, wte: { shape: [100, 64] } }, h);
});
S('allowMissing and allowUnexpected relax only what they name', () => {
  const h = checkpointFile({ 'wte': model.wte, 'extra': { dtype: 'F32', shape: [1] } });
  const r = compareShapes(model, h, { allowMissing: true, allowUnexpected: true });
  assert.ok(r.ok);
  assert.is(r.missing.length, 3);
  assert.equal(r.unexpected, ['extra']);
  checkShapes(model, h, { allowMissing: true, allowUnexpected: true });
  try { checkShapes(model, h, { allowMissing: true }); assert.unreachable(); } catch (e) {
    assert.equal(e.data.missing, []);
    assert.equal(e.data.unexpected, ['extra']);
  }
});
S('10,000 tensors with 1,000 mismatches are all reported; the message stays short', () => {
  const exp = {}, act = {};
  for (let i = 0; i < 10000; i++) {
    exp[`layer.${i}.weight`] = { dtype: 'F32', shape: [i % 13, 8] };
    act[`layer.${i}.weight`] = { dtype: 'F32', shape: [i % 13, i % 10 === 0 ? 4 : 8] };
  }
  const r = compareShapes(exp, act);
  assert.is(r.shape.length, 1000);
  try { checkShapes(exp, act); assert.unreachable(); } catch (e) {
    assert.is(e.data.shape.length, 1000);
    assert.match(e.message, /^1000 tensors do not fit the model: .*… and 990 more size mismatches$/);
  }
});
S('two records are compared in JS, anything with a header in the core: 2,000 random pairs give the same report both ways', async () => {
  const { compareInCore } = await import('../dist/core/shapes.js');
  const next = rng(41);
  const pick = (xs) => xs[Math.floor(next() * xs.length)];
  const spec = () => ({ ...(next() < 0.2 ? {} : { dtype: pick(['F32', 'F16', 'BF16', 'I64']) }), shape: Array.from({ length: Math.floor(next() * 4) }, () => pick([0, 1, 2, 3, 4096])) });
  for (let round = 0; round < 2000; round++) {
    const names = Array.from({ length: 1 + Math.floor(next() * 12) }, (_, i) => pick(['w', 'b', 'é.w', `l${i}`, `l${i}.x`, '']));
    const exp = {}, act = {};
    for (const n of names) {
      if (next() < 0.85) exp[n] = spec();
      if (next() < 0.85) act[n] = next() < 0.6 && exp[n] ? structuredClone(exp[n]) : spec();
      if (act[n] && act[n].dtype === undefined) act[n].dtype = 'F32';
    }
    const opts = { allowMissing: next() < 0.3, allowUnexpected: next() < 0.3 };
    const js = compareShapes(exp, act, opts);
    assert.equal(js, compareInCore(exp, act, opts), JSON.stringify({ exp, act, opts }));
  }
});
S('an invalid entry on either side is the same CheckpointError from both paths', async () => {
  const { compareInCore } = await import('../dist/core/shapes.js');
  for (const [exp, act, tensor] of [[{ a: { shape: [-1] } }, {}, 'a'], [{}, { b: { shape: [1.5] } }, 'b'], [{ c: { dtype: 'F8', shape: [1] } }, {}, 'c'], [{ d: {} }, {}, 'd']]) {
    for (const f of [compareShapes, compareInCore]) {
      try { f(exp, act); assert.unreachable(); } catch (e) {
        assert.ok(e instanceof CheckpointError, String(e));
        assert.equal([e.code, e.detail, e.tensor], ['UNSUPPORTED', 'INVALID_ARGUMENT', tensor]);
      }
    }
  }
});
S('an invalid expected entry is a CheckpointError naming it', () => {
  try { compareShapes({ a: { shape: [-1] } }, {}); assert.unreachable(); } catch (e) {
    assert.ok(e instanceof CheckpointError);
    assert.is(e.tensor, 'a');
  }
});
S.run();

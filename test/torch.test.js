import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  readTorch, readTorchFile, TorchTensor, CheckpointError, sha256, toHex, TORCH_PICKLE_LIMITS, MemoryStore,
} from '../dist/index.js';
import { readRepoFile, readRepoText, isBrowser, tempDir, testEnv } from './_env.js';
import { Pickle, tensorOp, pickleOf, torchZip, zipParts, concat, bytesOf } from './_torchfile.js';

const DIR = 'test/fixtures/reference/torch/';
const BENIGN = ['dtypes', 'legacy_nonzip', 'renamed_prefix', 'state_dict_f32', 'state_dict_f32_fileobj', 'training_checkpoint'];
const MALICIOUS = ['malicious_eval_stack_global', 'malicious_posix_system_torchsave', 'malicious_reduce'];

/** Python's json keeps integers past 2^53 exact; JSON.parse would round them. Keep them as {__bigint__}. */
function parseExact(text) {
  return JSON.parse(text.replace(/"(?:[^"\\]|\\.)*"|(?<![\d.eE+-])-?\d{16,}(?![.\deE])/g, (m) => (m[0] === '"' ? m : `{"__bigint__":"${m}"}`)));
}
const fixture = async (stem) => ({
  bytes: await readRepoFile(DIR + stem + '.pt'),
  expected: parseExact(await readRepoText(DIR + stem + '.expected.json')),
});

async function rejects(p, code, detail) {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof CheckpointError, `expected a CheckpointError, got ${e && e.stack}`);
    assert.is(e.code, code, e.message);
    if (detail) assert.is(e.detail, detail, e.message);
    return e;
  }
  assert.unreachable(`expected ${code}${detail ? '/' + detail : ''}`);
}

/** Compares a plain value read from the file with the fixture's `values` notation. */
function sameValue(got, want, file, path = '<root>') {
  if (want && typeof want === 'object' && '__tensor__' in want) {
    assert.ok(got instanceof TorchTensor, `${path}: expected a tensor`);
    assert.is(file.tensors.get(want.__tensor__), got, `${path}: the tensor listed as ${want.__tensor__}`);
    return;
  }
  if (want && typeof want === 'object' && '__bigint__' in want) {
    const b = BigInt(want.__bigint__);
    assert.is(got, b >= -(2n ** 53n) && b <= 2n ** 53n ? Number(b) : b, path);
    return;
  }
  if (want && typeof want === 'object' && '__tuple__' in want) return sameValue(got, want.__tuple__, file, path);
  if (want && typeof want === 'object' && '__dict_items__' in want) {
    return sameValue(got, Object.fromEntries(want.__dict_items__.map(([k, v]) => [String(k), v])), file, path);
  }
  if (Array.isArray(want)) {
    assert.ok(Array.isArray(got), `${path}: expected an array`);
    assert.is(got.length, want.length, `${path}: length`);
    want.forEach((w, i) => sameValue(got[i], w, file, `${path}.${i}`));
    return;
  }
  if (want && typeof want === 'object') {
    assert.type(got, 'object', path);
    assert.equal(Object.keys(got), Object.keys(want), `${path}: keys`);
    for (const k of Object.keys(want)) sameValue(got[k], want[k], file, `${path}.${k}`);
    return;
  }
  assert.is(got, want, path);
}

/** The tensor's logical values from its bytes, in the fixture's notation (flat). */
function valuesOf(t) {
  const b = t.bytes().slice();
  switch (t.dtype) {
    case 'F32': return Array.from(new Float32Array(b.buffer));
    case 'F64': return Array.from(new Float64Array(b.buffer));
    case 'I64': return Array.from(new BigInt64Array(b.buffer), String);
    case 'I32': return Array.from(new Int32Array(b.buffer));
    case 'I16': return Array.from(new Int16Array(b.buffer));
    case 'I8': return Array.from(new Int8Array(b.buffer));
    case 'U8': return Array.from(b);
    case 'BOOL': return Array.from(b, (x) => x === 1);
    default: return Array.from(t.toFloat32());
  }
}
const flat = (v) => (Array.isArray(v) ? v.flat(Infinity) : [v]);

// ---------------------------------------------------------------- fixtures

const FIX = suite('readTorch: PyTorch 1.13 fixtures');

for (const stem of BENIGN) {
  FIX(`${stem}.pt: every tensor and every value equals ${stem}.expected.json`, async () => {
    const { bytes, expected } = await fixture(stem);
    const file = await readTorchFile(bytes, { verifyCrc: true });
    assert.equal([...file.tensors.keys()].sort(), Object.keys(expected.tensors).sort());
    for (const [path, e] of Object.entries(expected.tensors)) {
      const t = file.tensors.get(path);
      assert.is(t.name, path);
      assert.is(t.dtype, e.safetensors_dtype, path);
      assert.equal(t.shape, e.shape, path);
      assert.equal(t.strides, e.strides, path);
      assert.is(t.storageOffset, e.storage_offset, path);
      assert.is(t.storage.key, e.storage.key, path);
      assert.is(t.storage.numel, e.storage.numel, path);
      assert.is(t.isContiguous, e.is_contiguous, path);
      assert.is(t.isParameter, e.is_parameter, path);
      assert.is(t.requiresGrad, e.requires_grad, path);
      assert.is(t.byteLength, e.nbytes_contiguous, path);
      assert.is(toHex(sha256(t.bytes())), e.sha256, path);
      if (e.values !== null) {
        const want = flat(e.values).map((x) => (x && x.__bigint__ ? x.__bigint__ : typeof x === 'number' && t.dtype === 'I64' ? String(x) : x));
        assert.equal(valuesOf(t), want, `${path} values`);
      }
    }
    sameValue(file.value, expected.values, file);
    for (const [where, meta] of Object.entries(expected.state_dict_metadata)) {
      const holder = where === '<root>' ? file.value : file.value[where];
      assert.equal(JSON.parse(JSON.stringify(holder._metadata)), meta, `${where}._metadata`);
      assert.not.ok(Object.keys(holder).includes('_metadata'), '_metadata is not listed among the keys');
    }
    const c = expected.container;
    if (c.format === 'zip') {
      assert.is(file.format, 'zip');
      assert.is(file.prefix + '/', c.archive_prefix);
      assert.is(file.version + '\n', c.version_record);
      assert.is(file.byteorder, 'little');
    } else {
      assert.is(file.format, 'legacy');
      assert.equal(file.sysInfo, c.sys_info);
    }
  });
}

FIX('tensors on one storage share its bytes (stride-0 and offset views included)', async () => {
  for (const stem of ['dtypes', 'legacy_nonzip']) {
    const { bytes, expected } = await fixture(stem);
    const file = await readTorchFile(bytes);
    for (const group of Object.values(expected.shared_storages)) {
      const roots = group.map((p) => file.tensors.get(p).storage).map((s) => s.root ?? s);
      assert.ok(roots.every((s) => s === roots[0]), `${stem}: ${group.join(', ')} share one storage`);
    }
  }
});

FIX('bytes() of a contiguous tensor is a view of the file; a strided one is a copy', async () => {
  const { bytes, expected } = await fixture('dtypes');
  const file = await readTorchFile(bytes);
  const view = file.tensors.get('shared_view_slice').bytes();
  assert.is(view.buffer, bytes.buffer, 'zero-copy view');
  const entry = expected.container.zip.entries.find((e) => e.name === 'dtypes/data/15');
  assert.is(view.byteOffset - bytes.byteOffset, entry.data_offset + 2 * 4, 'the view starts at the storage offset in the file');
  const strided = file.tensors.get('noncontig_transpose').bytes();
  assert.is.not(strided.buffer, bytes.buffer);
  assert.equal(Array.from(new Int32Array(strided.slice().buffer)), [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
});

FIX('0-dim, empty and stride-0 tensors', async () => {
  const file = await readTorchFile((await fixture('dtypes')).bytes);
  const s = file.tensors.get('scalar_0dim');
  assert.equal(s.shape, []);
  assert.equal(Array.from(s.toFloat32()), [3.5]);
  const e = file.tensors.get('empty_0x3');
  assert.is(e.bytes().length, 0);
  assert.is(e.toFloat32().length, 0);
  assert.equal(Array.from(file.tensors.get('expanded_stride0').toFloat32()), [7, 8, 9, 7, 8, 9, 7, 8, 9, 7, 8, 9]);
});

FIX('toFloat32 decodes bfloat16 and float16 exactly', async () => {
  const file = await readTorchFile((await fixture('dtypes')).bytes);
  assert.equal(Array.from(file.tensors.get('float16').toFloat32()), [0.5, -1.25, 65504, 6.103515625e-05, 0, -0]);
  assert.equal(Array.from(file.tensors.get('bfloat16').toFloat32()), [1, -2.5, 3.00405527047391e+38, 1.0010069081221042e-38, 0.0078125, -0]);
});

FIX('the training checkpoint keeps Python types as plain JS: bigint past 2^53, floats, nested config', async () => {
  const v = await readTorch((await fixture('training_checkpoint')).bytes);
  assert.is(v.config.big_int_over_2_53, 4611686018427387905n);
  assert.is(v.config.neg_float, -0.25);
  assert.equal(v.optimizer.param_groups[0].betas, [0.9, 0.999]);
  assert.is(v.optimizer.param_groups[0].foreach, null);
  assert.ok(v.optimizer.state[0].step instanceof TorchTensor, 'AdamW step is a 0-dim tensor');
  assert.equal(Object.keys(v.optimizer.state), ['0', '1', '2', '3', '4', '5', '6']);
});

FIX('the entry prefix comes from the entries, not the file name', async () => {
  const { bytes } = await fixture('renamed_prefix');
  const file = await readTorchFile(bytes, { name: 'something-else.pt' });
  assert.is(file.prefix, 'original_name');
});

FIX('CRC-32 is checked on request: a flipped storage byte is CORRUPT/ZIP_CRC', async () => {
  const { bytes, expected } = await fixture('state_dict_f32');
  const entry = expected.container.zip.entries.find((e) => e.name.endsWith('/data/1'));
  const bad = bytes.slice();
  bad[entry.data_offset + 5] ^= 0x10;
  const lenient = await readTorchFile(bad);
  assert.is.not(toHex(sha256(lenient.tensors.get('fc1.weight').bytes())), expected.tensors['fc1.weight'].sha256);
  const e = await rejects(readTorchFile(bad, { verifyCrc: true }), 'CORRUPT', 'ZIP_CRC');
  assert.match(e.message, 'state_dict_f32/data/1');
});

FIX('reads over HTTP with Range requests, and from a server that ignores Range; a 404 is NOT_FOUND', async () => {
  const exp = (await fixture('training_checkpoint')).expected;
  for (const base of [testEnv('SAFECKPT_TEST_HTTP'), testEnv('SAFECKPT_TEST_HTTP_NORANGE')]) {
    const file = await readTorchFile(`${base}/fixtures/reference/torch/training_checkpoint.pt`, { verifyCrc: true });
    assert.is(file.tensors.size, 28);
    for (const [p, t] of file.tensors) assert.is(toHex(sha256(t.bytes())), exp.tensors[p].sha256, p);
    await rejects(readTorch(`${base}/fixtures/reference/torch/missing.pt`), 'NOT_FOUND');
  }
});

if (!isBrowser) {
  FIX('reads from a path; a missing path is NOT_FOUND', async () => {
    const fs = await import('node:fs/promises');
    const dir = await tempDir();
    const p = `${dir}/model.pt`;
    await fs.writeFile(p, (await fixture('state_dict_f32')).bytes);
    const v = await readTorch(p);
    assert.equal(Object.keys(v), ['emb.weight', 'fc1.weight', 'fc1.bias', 'ln.weight', 'ln.bias', 'fc2.weight', 'fc2.bias']);
    await rejects(readTorch(`${dir}/missing.pt`), 'NOT_FOUND');
    await fs.rm(dir, { recursive: true });
  });
}

FIX.run();

// ---------------------------------------------------------------- malicious

const MAL = suite('readTorch: malicious files are refused, the global named, nothing run');

for (const stem of MALICIOUS) {
  MAL(`${stem}.pt → UNSAFE_PICKLE naming its global`, async () => {
    const { bytes, expected } = await fixture(stem);
    const e = await rejects(readTorch(bytes, { name: `${stem}.pt` }), 'UNSAFE_PICKLE', 'REFUSED_GLOBAL');
    for (const [module, name, opcode, position] of expected.dangerous_globals) {
      assert.match(e.message, `refused global ${module}.${name} (module '${module}', name '${name}'`);
      assert.ok(e.data.globals.some((g) => g.module === module && g.name === name && g.opcode === opcode && g.position === position), JSON.stringify(e.data));
    }
    assert.match(e.message, 'nothing was executed');
    assert.is(e.data.globals.length, expected.dangerous_globals.length, 'only the dangerous globals are named');
  });
}

MAL('every refused global is named, not only the first', async () => {
  const p = new Pickle().proto(2).mark().global('os', 'system').str('x').tuple1().reduce()
    .global('builtins', 'eval').str('y').tuple1().reduce().stackGlobal('subprocess', 'Popen').tuple().stop();
  const e = await rejects(readTorch(torchZip({ pickle: p.toBytes() })), 'UNSAFE_PICKLE');
  assert.equal(e.data.globals.map((g) => g.qualname), ['os.system', 'builtins.eval', 'subprocess.Popen']);
});

MAL('a refused global that is never called is still refused', async () => {
  const p = new Pickle().proto(2).global('posix', 'system').raw(0x30).value({ a: 1 }).stop();
  await rejects(readTorch(torchZip({ pickle: p.toBytes() })), 'UNSAFE_PICKLE', 'REFUSED_GLOBAL');
});

MAL('builtins.getattr, copyreg extensions and INST are refused', async () => {
  const g = new Pickle().proto(2).global('builtins', 'getattr').stop();
  await rejects(readTorch(torchZip({ pickle: g.toBytes() })), 'UNSAFE_PICKLE');
  const ext = new Pickle().proto(2).raw(0x82, 7).stop();
  const e = await rejects(readTorch(torchZip({ pickle: ext.toBytes() })), 'UNSAFE_PICKLE');
  assert.is(e.data.globals[0].module, 'copyreg.extension');
  const inst = new Pickle().proto(0).mark().str('id').raw(0x69, ...new TextEncoder().encode('os\nsystem\n')).stop();
  await rejects(readTorch(torchZip({ pickle: inst.toBytes() })), 'UNSAFE_PICKLE');
});

MAL('torch globals this reader does not interpret are UNSUPPORTED, with what to do', async () => {
  const p = new Pickle().proto(2).global('torch._utils', '_rebuild_sparse_tensor').stop();
  const e = await rejects(readTorch(torchZip({ pickle: p.toBytes() })), 'UNSUPPORTED');
  assert.match(e.message, 'to_dense()');
});

MAL.run();

// ---------------------------------------------------------------- hardening

const HARD = suite('readTorch: hand-built attacks get typed errors');
const zipOf = (pickle, storages) => torchZip({ pickle: pickle instanceof Pickle ? pickle.toBytes() : pickle, storages });
const f32 = (n) => bytesOf(new Float32Array(n).map((_, i) => i));

HARD('SETITEM on a list (CVE-2026-24747) → UNSAFE_PICKLE/SETITEM_TARGET', async () => {
  const p = new Pickle().proto(2).emptyList().str('k').str('v').setitem().stop();
  await rejects(readTorch(zipOf(p)), 'UNSAFE_PICKLE', 'SETITEM_TARGET');
  const q = new Pickle().proto(2).str('s').mark().str('k').str('v').setitems().stop();
  await rejects(readTorch(zipOf(q)), 'UNSAFE_PICKLE', 'SETITEMS_TARGET');
});

HARD('APPEND on a dict, BUILD on a list, REDUCE on a string → UNSAFE_PICKLE', async () => {
  await rejects(readTorch(zipOf(new Pickle().proto(2).emptyDict().int(1).append().stop())), 'UNSAFE_PICKLE', 'APPEND_TARGET');
  await rejects(readTorch(zipOf(new Pickle().proto(2).emptyList().emptyDict().build().stop())), 'UNSAFE_PICKLE', 'BUILD_TARGET');
  await rejects(readTorch(zipOf(new Pickle().proto(2).str('os').emptyTuple().reduce().stop())), 'UNSAFE_PICKLE', 'CALL_TARGET');
});

HARD('storage size ≠ declared element count → CORRUPT/STORAGE_SIZE', async () => {
  const p = pickleOf({ w: tensorOp({ key: '0', numel: 4, shape: [4] }) });
  await rejects(readTorch(zipOf(p, { 0: f32(3) })), 'CORRUPT', 'STORAGE_SIZE');
  await rejects(readTorch(zipOf(p, { 0: f32(5) })), 'CORRUPT', 'STORAGE_SIZE');
  const twice = pickleOf({ a: tensorOp({ key: '0', numel: 4, shape: [4] }), b: tensorOp({ key: '0', numel: 8, shape: [8] }) });
  await rejects(readTorch(zipOf(twice, { 0: f32(8) })), 'CORRUPT', 'STORAGE_SIZE');
});

HARD('strides, offsets and shapes outside the storage → CORRUPT/TENSOR_BOUNDS', async () => {
  const cases = [
    { shape: [2, 3], stride: [3, 1], numel: 5 },
    { shape: [2, 3], stride: [4, 1], numel: 6 },
    { shape: [6], stride: [1], offset: 1, numel: 6 },
    { shape: [3], stride: [-1], numel: 6 },
    { shape: [3], stride: [1], offset: -1, numel: 6 },
    { shape: [-1], stride: [1], numel: 6 },
  ];
  for (const c of cases) {
    const p = pickleOf({ w: tensorOp({ key: '0', ...c }) });
    await rejects(readTorch(zipOf(p, { 0: f32(c.numel) })), 'CORRUPT', 'TENSOR_BOUNDS');
  }
});

HARD('depth bombs: nested MARKs and deeply nested lists → CORRUPT/DEPTH_LIMIT', async () => {
  const marks = new Pickle().proto(2);
  for (let i = 0; i < 5000; i++) marks.mark();
  await rejects(readTorch(zipOf(marks.stop())), 'CORRUPT', 'DEPTH_LIMIT');
  const lists = new Pickle().proto(2);
  for (let i = 0; i < 20000; i++) lists.emptyList();
  for (let i = 1; i < 20000; i++) lists.append();
  await rejects(readTorch(zipOf(lists.stop())), 'CORRUPT', 'DEPTH_LIMIT');
});

HARD('memo bomb → CORRUPT/MEMO_LIMIT', async () => {
  const p = new Pickle().proto(2).none();
  for (let i = 0; i < 2000; i++) p.raw(0x72, ...p.u32(i));
  const bytes = zipOf(p.stop());
  await rejects(readTorch(bytes, { limits: { memo: 1000 } }), 'CORRUPT', 'MEMO_LIMIT');
  assert.ok(await readTorch(bytes) === null, 'within the default limit the same pickle reads');
  assert.is(TORCH_PICKLE_LIMITS.memo, 4 * 1024 * 1024);
});

HARD('huge declared string lengths → CORRUPT (limit, then truncation)', async () => {
  const u64 = (n) => { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, BigInt(n), true); return [...b]; };
  await rejects(readTorch(zipOf(new Pickle().proto(4).raw(0x8d, ...u64(2 ** 40)).stop())), 'CORRUPT', 'STRING_LIMIT');
  await rejects(readTorch(zipOf(new Pickle().proto(2).raw(0x58, 0xf0, 0xff, 0xff, 0xff).stop())), 'CORRUPT', 'STRING_LIMIT');
  await rejects(readTorch(zipOf(new Pickle().proto(2).raw(0x58, 100, 0, 0, 0, 65, 66).stop())), 'CORRUPT', 'TRUNCATED');
});

HARD('stack and object bombs → CORRUPT', async () => {
  const p = new Pickle().proto(2);
  for (let i = 0; i < 3000; i++) p.none();
  await rejects(readTorch(zipOf(p.stop()), { limits: { stack: 1000 } }), 'CORRUPT', 'STACK_LIMIT');
  await rejects(readTorch(zipOf(p.stop()), { limits: { objects: 1000 } }), 'CORRUPT', 'OBJECT_LIMIT');
});

HARD('unknown opcodes, out-of-band buffers, a bare pickle, junk → typed errors', async () => {
  await rejects(readTorch(zipOf(new Pickle().proto(2).raw(0xff).stop())), 'UNSAFE_PICKLE', 'UNKNOWN_OPCODE');
  await rejects(readTorch(zipOf(new Pickle().proto(5).raw(0x97).stop())), 'UNSUPPORTED');
  await rejects(readTorch(pickleOf({ a: 1 })), 'CORRUPT', 'NOT_TORCH');
  await rejects(readTorch(new TextEncoder().encode('<!doctype html><html>…')), 'CORRUPT', 'NOT_TORCH');
  await rejects(readTorch(new Uint8Array(0)), 'CORRUPT', 'TRUNCATED');
});

HARD('a "__proto__" key is an own property, never the prototype', async () => {
  const v = await readTorch(zipOf(pickleOf({ ['__proto__']: { polluted: true } })));
  assert.ok(Object.prototype.hasOwnProperty.call(v, '__proto__'));
  assert.is(Object.getPrototypeOf(v), Object.prototype);
  assert.is({}.polluted, undefined);
});

HARD.run();

// ---------------------------------------------------------------- format

const FMT = suite('readTorch: follows the format beyond the 1.13 fixtures');

FMT('torch 2.x records: byteorder, .data/version, .data/serialization_id', async () => {
  const p = pickleOf({ w: tensorOp({ key: '0', numel: 4, shape: [2, 2] }) });
  const file = await readTorchFile(torchZip({ pickle: p, storages: { 0: f32(4) }, torch2: true, version: '3' }));
  assert.is(file.byteorder, 'little');
  assert.is(file.version, '3');
  assert.is(file.serializationId, '1234567890123456789012345678901234567890');
  assert.equal(Array.from(file.tensors.get('w').toFloat32()), [0, 1, 2, 3]);
});

FMT('byteorder "big": storages are swapped per element (float32, int64, float16, complex64)', async () => {
  const be = (ta, unit = ta.BYTES_PER_ELEMENT) => {
    const b = bytesOf(ta);
    for (let i = 0; i < b.length; i += unit) b.subarray(i, i + unit).reverse();
    return b;
  };
  const f = new Float32Array([1.5, -2, 3.25]);
  const l = new BigInt64Array([1n, -2n, 2n ** 62n]);
  const c = new Float32Array([1, 2, 3, 4]);
  const p = pickleOf({
    f: tensorOp({ key: '0', numel: 3, shape: [3] }),
    l: tensorOp({ key: '1', storageType: 'LongStorage', numel: 3, shape: [3] }),
    c: tensorOp({ key: '2', storageType: 'ComplexFloatStorage', numel: 2, shape: [2] }),
    u: tensorOp({ key: '3', numel: 6, shape: [3], v3Dtype: 'uint16' }),
  });
  const u = new Uint16Array([1, 256, 65535]);
  const file = await readTorchFile(torchZip({ pickle: p, byteorder: 'big', storages: { 0: be(f), 1: be(l), 2: be(c, 4), 3: be(u) } }));
  assert.is(file.byteorder, 'big');
  assert.equal(file.tensors.get('f').bytes(), bytesOf(f));
  assert.equal(file.tensors.get('l').bytes(), bytesOf(l));
  assert.equal(file.tensors.get('c').bytes(), bytesOf(c));
  assert.equal(file.tensors.get('u').bytes(), bytesOf(u));
});

FMT('torch 2.x _rebuild_tensor_v3 dtypes (uint16/32/64, float8) over an UntypedStorage', async () => {
  const p = pickleOf({
    a: tensorOp({ key: '0', numel: 4, shape: [2], v3Dtype: 'uint16' }),
    b: tensorOp({ key: '1', numel: 4, shape: [4], v3Dtype: 'float8_e4m3fn' }),
    c: tensorOp({ key: '2', numel: 8, shape: [1], v3Dtype: 'uint64' }),
  });
  const file = await readTorchFile(torchZip({ pickle: p, torch2: true, storages: { 0: bytesOf(new Uint16Array([7, 65535])), 1: Uint8Array.from([0x38, 0xb8, 0x7e, 0x7f]), 2: bytesOf(new BigUint64Array([2n ** 64n - 1n])) } }));
  assert.is(file.tensors.get('a').dtype, 'U16');
  assert.equal(Array.from(file.tensors.get('a').toFloat32()), [7, 65535]);
  assert.is(file.tensors.get('b').dtype, 'F8_E4M3');
  const b = Array.from(file.tensors.get('b').toFloat32());
  assert.equal(b.slice(0, 3), [1, -1, 448]);
  assert.ok(Number.isNaN(b[3]));
  assert.is(file.tensors.get('c').dtype, 'U64');
});

FMT('a torch 2.x training checkpoint: parameters, tensor steps, LR scheduler and RNG state', async () => {
  const rng = Uint8Array.from({ length: 5056 }, (_, i) => (i * 7) & 0xff);
  const p = pickleOf({
    model: { 'fc.weight': tensorOp({ key: '0', numel: 6, shape: [2, 3], parameter: true, requiresGrad: true }) },
    optimizer: {
      state: { 0: { step: tensorOp({ key: '1', numel: 1, shape: [] }), exp_avg: tensorOp({ key: '2', numel: 6, shape: [2, 3] }) } },
      param_groups: [{ lr: 0.001, betas: { __tuple__: [0.9, 0.999] }, params: [0], capturable: false, differentiable: false, fused: null }],
    },
    lr_scheduler: { base_lrs: [0.001], last_epoch: 7, _step_count: 8, verbose: false, _get_lr_called_within_step: false, _last_lr: [0.0007] },
    rng_state: tensorOp({ key: '3', storageType: 'ByteStorage', numel: 5056, shape: [5056] }),
    epoch: 2,
  });
  const file = await readTorchFile(torchZip({ pickle: p, torch2: true, storages: { 0: f32(6), 1: f32(1), 2: f32(6), 3: rng } }));
  assert.equal([...file.tensors.keys()], ['model.fc.weight', 'optimizer.state.0.step', 'optimizer.state.0.exp_avg', 'rng_state']);
  const w = file.tensors.get('model.fc.weight');
  assert.ok(w.isParameter && w.requiresGrad);
  assert.equal(file.value.lr_scheduler, { base_lrs: [0.001], last_epoch: 7, _step_count: 8, verbose: false, _get_lr_called_within_step: false, _last_lr: [0.0007] });
  assert.equal(file.tensors.get('rng_state').bytes(), rng);
  assert.is(file.tensors.get('rng_state').dtype, 'U8');
});

FMT('torch.Size, torch.device, sets, bytes via _codecs.encode, Python ints of every width', async () => {
  const p = new Pickle().proto(2).emptyDict().mark()
    .str('size').global('torch', 'Size').mark().int(2).int(3).tuple().tuple1().reduce()
    .str('device').global('torch', 'device').str('cuda').int(1).tuple2().reduce()
    .str('set').global('builtins', 'set').value([1, 2]).tuple1().reduce()
    .str('bytes').global('_codecs', 'encode').str('\u00ff\u0000A').str('latin1').tuple2().reduce()
    .str('ints').value([2 ** 53, -(2 ** 31), 2n ** 53n + 1n, -(2n ** 63n), 0n])
    .setitems().stop();
  const v = await readTorch(zipOf(p));
  assert.equal(v.size, [2, 3]);
  assert.is(v.device, 'cuda:1');
  assert.equal(v.set, [1, 2]);
  assert.equal(v.bytes, Uint8Array.from([255, 0, 65]));
  assert.equal(v.ints, [2 ** 53, -(2 ** 31), 2n ** 53n + 1n, -(2n ** 63n), 0]);
});

FMT('CRC-32 of large entries (the hash-wasm path) passes when intact and catches one flipped bit', async () => {
  const n = 100_000;
  const p = pickleOf({ w: tensorOp({ key: '0', numel: n, shape: [n] }) });
  const good = torchZip({ pickle: p, storages: { 0: f32(n) } });
  const file = await readTorchFile(good, { verifyCrc: true });
  assert.is(file.tensors.get('w').toFloat32()[n - 1], n - 1);
  const bad = good.slice();
  bad[good.length - 4096 * 40] ^= 0x04; // inside the storage's 400,000 bytes
  await rejects(readTorchFile(bad, { verifyCrc: true }), 'CORRUPT', 'ZIP_CRC');
});

FMT('ranged sources: the tail, then one read per entry used (header and data together)', async () => {
  const bytes = await readRepoFile(DIR + 'state_dict_f32.pt');
  const store = new MemoryStore({ 'm.pt': bytes });
  const ranges = [];
  const read = store.read.bind(store);
  store.read = (key, range) => { ranges.push(range); return read(key, range); };
  const file = await readTorchFile({ store, key: 'm.pt' });
  assert.is(file.tensors.size, 7);
  // 512-byte sniff + tail (EOCD, Zip64 records, directory) + data.pkl + version + 7 storages.
  assert.is(ranges.length, 2 + 1 + 1 + 7, JSON.stringify(ranges));
  assert.ok(ranges.every((r) => r && r.end - r.start <= 65557 + 1024), 'never the whole file in one read');
});

FMT('DEFLATE-compressed entries are inflated by the core (fflate deflated them)', async () => {
  const p = pickleOf({ w: tensorOp({ key: '0', numel: 4, shape: [4] }) });
  const file = await readTorchFile(torchZip({ pickle: p, storages: { 0: f32(4) }, deflate: true }), { verifyCrc: true });
  assert.equal(Array.from(file.tensors.get('w').toFloat32()), [0, 1, 2, 3]);
});

FMT('zip structure errors: truncated, garbled directory, no data.pkl, two prefixes, TorchScript', async () => {
  const good = zipOf(pickleOf({ w: tensorOp({ key: '0', numel: 4, shape: [4] }) }), { 0: f32(4) });
  await rejects(readTorch(good.subarray(0, good.length - 30)), 'CORRUPT');
  await rejects(readTorch(good.subarray(0, 100)), 'CORRUPT');
  const g = good.slice();
  g[g.length - 22 - 20 - 56 + 48] ^= 0x40; // central directory offset in the Zip64 end record
  await rejects(readTorch(g), 'CORRUPT');
  const enc = new TextEncoder();
  await rejects(readTorch(concat(zipParts([['a/other.pkl', enc.encode('x')]]))), 'CORRUPT', 'TORCH_LAYOUT');
  await rejects(readTorch(concat(zipParts([['a/data.pkl', pickleOf(1)], ['b/data.pkl', pickleOf(2)]]))), 'CORRUPT', 'TORCH_LAYOUT');
  await rejects(readTorch(concat(zipParts([['m/data.pkl', pickleOf(1)], ['m/constants.pkl', pickleOf(1)], ['m/code/__torch__/x.py', enc.encode('')]]))), 'UNSUPPORTED', 'TORCHSCRIPT');
  const missing = zipOf(pickleOf({ w: tensorOp({ key: '9', numel: 4, shape: [4] }) }), { 0: f32(4) });
  await rejects(readTorch(missing), 'CORRUPT', 'STORAGE_MISSING');
});

FMT('legacy files: truncated storages and wrong element counts are CORRUPT', async () => {
  const { bytes, expected } = await fixture('legacy_nonzip');
  await rejects(readTorch(bytes.subarray(0, bytes.length - 3)), 'CORRUPT', 'TRUNCATED');
  await rejects(readTorch(bytes.subarray(0, 600)), 'CORRUPT', 'TRUNCATED');
  const bad = bytes.slice();
  const first = expected.container.storages[expected.container.storage_keys_in_order[0]];
  bad[first.count_offset] += 1;
  await rejects(readTorch(bad), 'CORRUPT', 'STORAGE_SIZE');
});

FMT('a tar archive (torch < 0.4) is UNSUPPORTED with what to do', async () => {
  const tar = new Uint8Array(1024);
  tar.set(new TextEncoder().encode('storages'), 0);
  tar.set(new TextEncoder().encode('ustar'), 257);
  const e = await rejects(readTorch(tar), 'UNSUPPORTED', 'TORCH_TAR');
  assert.match(e.message, 're-save');
});

FMT.run();

// ---------------------------------------------------------------- numpy

// Made by Python 3's pickle (protocol 2, as torch.save uses) with numpy 2.4, no torch involved:
//   numpy.random.seed(2); pickle.dumps({'numpy': numpy.random.get_state(), 'best_metric': numpy.float64(0.25),
//     'n': numpy.int64(2**60), 'fortran': numpy.asfortranarray(numpy.arange(6, dtype='<i2').reshape(2, 3)),
//     'be': numpy.array([1.5, -2], dtype='>f4')}, protocol=2)
const NUMPY_PICKLE_B64 =
  'gAJ9cQAoWAUAAABudW1weXEBKFgHAAAATVQxOTkzN3ECY251bXB5Ll9jb3JlLm11bHRpYXJyYXkKX3JlY29uc3RydWN0CnEDY251bXB5Cm5kYX' +
  'JyYXkKcQRLAIVxBWNfY29kZWNzCmVuY29kZQpxBlgBAAAAYnEHWAYAAABsYXRpbjFxCIZxCVJxCodxC1JxDChLAU1wAoVxDWNudW1weQpkdHlw' +
  'ZQpxDlgCAAAAdTRxD4mIh3EQUnERKEsDWAEAAAA8cRJOTk5K/////0r/////SwB0cRNiiWgGWI8OAAACAAAAw4sSD8OYw6pwdzJVw4bDssKiV8' +
  'OPTVbDs8OSAcKkGzIyH8KuN1vDrknCjMKDXHHDoMOwG8KfBTzCvcO8O8O6KnjChsK3w5LClMOhwrzDqsKhw49fwpBeJmDCrVxew7rCtyfCicOZ' +
  'w45GXzPDtkzCgyNXdQJidcOZCyfDhBhXwrXCk1lHw57Cq8O/w5leGsK0eA7CtMOoBUnDncOSGGfCrywawqTDjcKoewp/w4s6w69ow5FLXkAwOX' +
  'bCrsObUsKew4FaR8K0woHDmz3CtsK5w4HCh8OuCErDmAhPwr14SnhTPiLDrcK4ZQtWJiPDvsOfw4PCqhXDssOrHS3DhsK0w7QlBjHDn8OZXR7C' +
  'vsK1w7nCoMKGPDZQwr1Mw7jDsBzDnTjDosOaSMOOw7jDgwdIccKSwr/Dui/DiRHCjMO3c8OoQ0VmfiRxRnzDsjPDjcOYMVlAwr7DkMK9wo3Dtc' +
  'OlMsKaw60qw7fCl8KgZkzCmmhewqAVw7PDrcKPw4TDsFJHwooPw5oWw7HDu8OQwoxaw73CukrCuEzCvcKtPMObJ8KHwoXCssKxw4DDmsKFZ23C' +
  'lyfDocKvwpzCqsKQwotlw6PCpVhgw4zCtsOOLcKoGMKTUH/Dox7DmUfDl8OALVTCjsOaw58ATMK4woQhw7cZcV7DtcKVwol/aMK4e8O9wq3Ct1' +
  'pOJsKJwrl2wrouwpfDr8OQGcK6wqjDhMKbVsOfw7BSwoLCnAvCtUzCu35gwpfDnUTCosKiFsORw6NSXcO5wr/CkksXwrscwpI5KGkiwpXDtMO3' +
  'AMOZw5YDw5Ydw5IJV8KwdS9HK8KPVsKuw5PCoxHDrT3CtzBtwozDkhQYwod6woZTwoHDg0UyBlvDoX/ChcKKwol7w5B7wpQWw6zDh8OLwqTDqc' +
  'OESGzCocKPwqwUKMOdwptpw6wJTSbCtcOLSMKkwrbDgkhDw4PCm8O9w4F0OXh2w4haecKqPsO7CsKpPcKBwqhuw7vDhQ1kw57CmmVCMT/CgMOH' +
  'wrbCjz0BHsOqw5BXwoMIwpTDiWYOOcO/RW3CisKjFsKEw7LClDjCmFIoWsOid0vDtEvCtRTDuMOvDSdKbsOdXsOxworCscOnCMO8w6UxwpTDgc' +
  'KrwrbCnXsfUsOxw6XCosKFwqTCscOkN1XDv2k/CStJwrcPwojDocKkbcKfTH51w6nDiCbCsksIQMKtYlbCscKkdnTDkMK9WwbCvMKQwrUiA3LC' +
  'nQXCu8KLVU8kcsK/QBMSw7fDgnfDiMOhfkBzw77DrnfDtHDCryHDp8O/w4NTwodywrjDmU8BUcOAwpPDksKRT8KxwrTDlxxGDsO4w4NawpHDpX' +
  'nDi0HCtcOwYcOow4LCtmnClsKXw4gjw5gUXcOkEm7Dn8OeYcKGwoTCrsK8AMOpNsOaw6Z1wrDDp8Krw7Umw5NxPMO/w4E3ccOoPMOSw4/CqSkh' +
  'Mx7DoQYKexXCl8OCwpjDicOrQT0EwpjCr8KwFjHDjF3DjMKtdVPCm0cLJMOiMwLCmxxYw4FALkk6wqkaa1vChTcZCcKXwqlPwofCgTjDssKxw5' +
  'UJJXMNUG5+wrweaSnCo8ORdFo4O8Oww6oBDlvDncOxw6nDoWnDmxtcEiBxw4pFY8O7w47Drkxuc8ORR8KYw7JxaCvCmMO3XWHCg0N0wrA1wpEX' +
  'QV/DlcK5QXHDvl8Tw6/CvSJTfmXDp2XCpsOTw48UPVfDl8OqacK9BCoEw4/DmQbClgUhOGfCp8Kmwr3DhMOfwqA3w5fDiy3CkFgZPsKuAVU8wo' +
  'XDiDHCvyNdwqXCgsOmZ8O7woHDlgEFw5rDrMK2w4fCmsOKwooyWsO8ZcOEEVIZw7Q2QcOgGMKZV1bCqRw8wqBkw77DhcOwLS3CpGtcGsKgPMKN' +
  'w708KMKhCsKaw7zDgMOZTMKKwoDCpMK2T8OcYCRjwpV/wovDqwHCmgA/wo0Gw7TDm3DDpWjDuMO+IsO+wqlfw6zDiHbCocOVD8KCw5PClBpFZs' +
  'Oyw5fCpALDjcKffAw+wrdCw7fCpWYvM8O8w5fDgFHDjMKjwog+Ek8kQCoswpvDpVDDg07DnATDsm5mPH5IZ8OGVn/DtUNZw41hYMK/HMOiGmPC' +
  'j8OQw7nDqcOxwqLCl8OBNS3DiMKVCMOpe3DCl8KTRMKiOV3DmsKTw6YFwopEwpHCrhbDpMK0eAcFY8Kpwq3DlcORA8OTwoFQwqdQwpRDwpfCj0' +
  'PDscOywrrCu8O4wrvDicKvwplLwpxZN8OMTsORw67ClwPCjxJ2bSFRZcOJwoY1Uj3Du8OUwr0uJVvCvMK+woLDlijDvwXCq27Dj3/CsFlFw5gQ' +
  'SFfDgMOHYQLDpMKPwrnCusOjw5zCgcOwwoYFwpDDrMKgW2nCqhLDmgh3wqg1wrfCrTwnwqbDhAY0RyfCisK9GMKOw5XCj8Oow5vCnEbClG4gw6' +
  'LClCTDkFfCoMOKcMKSBytiwrdqSEJWw7N1wqPDpMO/YR/Dp8K9M3HDh3RwZ8Kgw53CkBFWCcOBU8KYPBrDucKEwrHDtcOdQQkKbULDscOywqMU' +
  'wr4uwo1gfn57BFs9w4fCmMKrw63ClSrDkHbCpgHDtsOgXMO0cg/CkMKlwqMbFWMaw4LDtMOeCcKxVcKew7ABw5HDtcO8wrjCiMOoHxjDssKGwr' +
  '9TKkptwr4UwqvDpcKEw7tGw4VMw7DDi8KmRWRwwonDvcOzeDEbMMOEw6MGQhgqOV3DpWTClsOPVifCrjbDtcKTwp7DmsKSBGPCviRiw6vDqcKk' +
  'wowgRsOCHMOqwpPCkzItWsOlw7LDsnkeAMKow6TDmsK4EVJhThfCuUg/ZcO4KcOqbMKew5HCp3odw4zCvALDlA3Cg8OuN8KGw71QwrPDmlIUBR' +
  'XCn8Oaw4XCgi1+wrx8S2bDulzCtMOmwqfDsMK4IU5SUU/Cl8OBSmTCm8KnMSbClRTChsKdAsOwCys6w4Q0w4fDrsOsYj5Yw5lUcMKQYjk3RMO0' +
  'UsOxeGBlPMOOSMOnVyLCgsOfw4V9AcK5KMOKfDTDmcOHw43Du8O9w48Tw5JFw4IPHWtswpQ7woLDpG7DssK6PcOYSMKPWwkwAWhlcsOSwrlHVS' +
  'nCgE4Ww7QzFmbCpsOaw7t9wo/CvsO1Ygt9wqPCv1N0w518YcKyw73DucKyw7pHNMKVYx7DrG82cBjCsREaHMO0wqjDrMKHwqfCoVrDrQYVw6zC' +
  'iyfDmmIew4wvIsOSCh7CpXt8w4/CvcO+w58RD8Knw7PCsMKVd8KJw5FSKGvCqMO9w6nDnhDCmcK+PsOqw7TCi8KwI8OJwp8faxfCo0Bvw7jDhS' +
  'NpbBfCrsOWCjBTc1fCosKHNsO6w65zVSjCscKsw7Z6w5zCvsOoF3XCl8O3wqpkw4rDqgfDoFVew6QMIcK+aMOew5Y6ecO3ZMOxaCB6W8OYwoHC' +
  'pcOJw71wP8O6wrLDoztQaHPDmG7ClcKhBhbDlMK5wpTClWFbXBbCtVFyw4bDgsOGezdZGHsDGsOTw5DCtkMzEsKFHnA/MTk0w7lzVMKUw6zDqk' +
  'HDhUZyw4bChm0bw5jChEfDvy3DhS9Zwp5hNMOcG8Kww4jCu1d+QyMow6EbwpHCkkRbwpPDpGx2XlFGw5d2w6DDkwVUwrbDsMKawrXDt8OlNjHC' +
  'mT3DnMKDNMKnI3nDlMKmP8KIwpbDlT90LcKLw7rDgMKgfsOGwr3DiVLCvSrDkcOZF2IBBWrDoMKIbE/Cl2s5FWZDXMK/SBwzw6dsTlvDu8KhWg' +
  'gBXMOsMkfCiQcgCsOmS2ojwpgJw5jDtgLCv8KcwqfDnFwOPMKpYGDCu1XCqG5JA18JOw8ZwqArw4zDq8O7w6bCjcORPsK5TjbDl8OCRcKjEgMe' +
  'WcKdw4JXwq/Cj8KocMKrw5cMGMKVw6Vrw4Y1DQ4IL2fCncOdw6onw5PCgnnCgsK/bXHDv8KzwrkpwoXCpcK2wovDu8KYw7Rzw63CusO/Z3fDhl' +
  '7DpMKlW27DskJCwr8OMG3Dq8KAC1tIGMOtUcOEwqfCiMKqFikdwojDncOqCMOewpB5R3MwwpE4OsOsw7lTdn5xXHEZw4DCrsOgQcK2dWJAKcK5' +
  'w5JwJMO3wp7DvGQgEW/CtcK2KsOPw702a0tiJ8KTw5PDmSHCnnzDisKiwqHCvlMJwpU1wqfCoWTCjsONwq3CuEcGZsKORWh+D0YSwo/CuMOiwp' +
  'oUwpFvw7wiAMObAMOuwoHCrnhJM8K4wrxTQhB4FzBkw7DDssKQU3BJw43CpiFEHcKVHm3DtUZZwoVXHDpUScKLdB/DlMODw4N9FQvCmcK2Zg/C' +
  'vTbCpT/CjR8hw7pyw4JkJ8KyHMOZVcKOwqMSwqvCpgXCosOQMwrDjWNfwofDiQUDExAfw6BAwrXCmMOyUsKXw6oiw4TCscKxw69nw61kw5Ulw6' +
  '/DjlLDssOiDWLChcO3wrMve8KfA8KMw7bDkS8+McKbw7HCnsOuQ8OhJsODGMO3w4HDszDCpsK3wrlEF8OWHsO6GSxHecKuP1VEQsOJfyZCwrvD' +
  'rMOrw57Cq2JPNSgBw6fCicOFc8KjE1UxfFc0e1Eswq7Dt8OKw4rDoTc3w7IwZxXCu8OTwoUZCcKeOF5rwqMgK3vCvkEXw4zDuzx1Jw9rQkVSYs' +
  'Oxw6bDrcK7wqE9w6HCrxJbwoTCmGPDjWN2woDDtynDiBjDgMK/Lj8OaU8ww5XDssOuVcO0QwXDm8OEATRKCyLDmkNFw4rCjMKnV8OPwrzDrnnD' +
  'gsK9VsKuw7M3wrczMS50Ei3Dq8O+DsOjXcOVe8KLw6cdw6LDnFtqw6vCosKow63DpW8OV1Irw49RHsKFMFjCmx47eiN/w6nCqmfDkw7DicOXw6' +
  'zCtTk3woJmTsKzR8KaIQUXIkzDuzrDoMKYwqXCh8OVw7jDp1xgL8KNSA1BwqfCjcOkw5Egwqh0Lg13w5/DmsO0eEIawrNOwqAtcRRoCIZxFVJx' +
  'FnRxF2JNcAJLAEcAAAAAAAAAAHRxGFgLAAAAYmVzdF9tZXRyaWNxGWNudW1weS5fY29yZS5tdWx0aWFycmF5CnNjYWxhcgpxGmgOWAIAAABmOH' +
  'EbiYiHcRxScR0oSwNoEk5OTkr/////Sv////9LAHRxHmJoBlgJAAAAAAAAAAAAw5A/cR9oCIZxIFJxIYZxIlJxI1gBAAAAbnEkaBpoDlgCAAAA' +
  'aThxJYmIh3EmUnEnKEsDaBJOTk5K/////0r/////SwB0cShiaAZYCAAAAAAAAAAAAAAQcSloCIZxKlJxK4ZxLFJxLVgHAAAAZm9ydHJhbnEuaA' +
  'NoBEsAhXEvaAqHcTBScTEoSwFLAksDhnEyaA5YAgAAAGkycTOJiIdxNFJxNShLA2gSTk5OSv////9K/////0sAdHE2YohoBlgMAAAAAAADAAEA' +
  'BAACAAUAcTdoCIZxOFJxOXRxOmJYAgAAAGJlcTtoA2gESwCFcTxoCodxPVJxPihLAUsChXE/aA5YAgAAAGY0cUCJiIdxQVJxQihLA1gBAAAAPn' +
  'FDTk5OSv////9K/////0sAdHFEYoloBlgKAAAAP8OAAADDgAAAAHFFaAiGcUZScUd0cUhidS4=';

const NP = suite('readTorch: numpy arrays and scalars (Hugging Face rng_state.pth)');

NP('numpy RNG state, scalars, Fortran-order and big-endian arrays read as data', async () => {
  const pickle = Uint8Array.from(atob(NUMPY_PICKLE_B64), (c) => c.charCodeAt(0));
  const file = await readTorchFile(torchZip({ pickle }));
  const v = file.value;
  assert.is(v.numpy[0], 'MT19937');
  const state = v.numpy[1];
  assert.ok(state instanceof TorchTensor);
  assert.is(state.dtype, 'U32');
  assert.equal(state.shape, [624]);
  assert.is(toHex(sha256(state.bytes())), '1e7ecec0db049c0fbffa402156bc31397a60548c3cf68fc4a43c7dfdfae6c27c');
  assert.is(new DataView(state.bytes().slice().buffer).getUint32(0, true), 2);
  assert.equal(v.numpy.slice(2), [624, 0, 0.0]);
  assert.is(v.best_metric, 0.25);
  assert.is(v.n, 2n ** 60n);
  assert.equal(v.fortran.shape, [2, 3]);
  assert.equal(Array.from(v.fortran.toFloat32()), [0, 1, 2, 3, 4, 5], 'column-major bytes, row-major bytes()');
  assert.equal(Array.from(v.be.toFloat32()), [1.5, -2], 'big-endian array swapped');
  assert.equal([...file.tensors.keys()], ['numpy.1', 'fortran', 'be']);
});

NP('numpy object arrays are UNSUPPORTED; numpy globals beyond arrays are refused', async () => {
  const p = new Pickle().proto(2).global('numpy.core.multiarray', '_reconstruct').global('numpy', 'ndarray').mark().int(0).tuple().bytes(Uint8Array.of(98)).raw(0x87).reduce()
    .mark().int(1).mark().int(1).tuple().global('numpy', 'dtype').str('O8').bool(false).bool(true).raw(0x87).reduce()
    .bool(false).emptyList().raw(0x74).build().stop();
  await rejects(readTorch(zipOf(p)), 'UNSUPPORTED');
  await rejects(readTorch(zipOf(new Pickle().proto(2).global('numpy', 'load').stop())), 'UNSAFE_PICKLE');
});

NP.run();

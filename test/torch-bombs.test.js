// Hostile .pt files built here, byte by byte: each one must end in a typed
// error (or a bounded success) quickly and in bounded memory — no exponential
// walk, no unbounded recursion, nothing inflated past the caps.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readTorchFile, CheckpointError } from '../dist/index.js';
import { Pickle, torchZip, zipParts, concat, tensorOp, bytesOf } from './_torchfile.js';

const POP = 0x30;
const f32 = (n) => bytesOf(new Float32Array(n).map((_, i) => i));

async function outcome(bytes, opts) {
  try {
    return { file: await readTorchFile(bytes, opts) };
  } catch (e) {
    if (!(e instanceof CheckpointError)) throw new Error(`escaped as ${e && e.constructor && e.constructor.name}: ${e && e.stack}`);
    return { error: e };
  }
}

const B = suite('readTorch: resource-exhaustion files end in typed errors or bounded results');

B('a list DAG (each list holds the previous one twice, 40 levels: 2^40 paths) is walked once per list', async () => {
  const p = new Pickle().proto(2);
  p.emptyList().mark(); tensorOp({ key: '0', numel: 1, shape: [1] })(p); p.appends().put().raw(POP);
  for (let i = 1; i < 40; i++) { p.emptyList().mark().get(i - 1).get(i - 1).appends().put(); if (i < 39) p.raw(POP); }
  const bytes = torchZip({ pickle: p.stop().toBytes(), storages: { 0: f32(1) } });
  assert.ok(bytes.length < 4096);
  const { file, error } = await outcome(bytes);
  assert.is(error, undefined, error && error.message);
  // One path per distinct container: the first way down, as written.
  assert.equal([...file.tensors.keys()], ['0'.repeat(39).split('').join('.') + '.0']);
});

B('a tuple-key DAG (a dict key made of the same tuple twice, 40 levels) is keyed in linear time', async () => {
  const p = new Pickle().proto(2).emptyDict();
  p.int(1).tuple1().put().raw(POP);
  for (let i = 1; i < 40; i++) { p.get(i - 1).get(i - 1).tuple2().put(); if (i < 39) p.raw(POP); }
  p.str('v').setitem();
  // A second equal key built independently must land on the same entry (Python's tuple equality).
  p.int(1).tuple1().put().raw(POP);
  for (let i = 1; i < 40; i++) { p.get(40 + i - 1).get(40 + i - 1).tuple2().put(); if (i < 39) p.raw(POP); }
  p.str('w').setitem();
  const { file, error } = await outcome(torchZip({ pickle: p.stop().toBytes() }));
  assert.is(error, undefined, error && error.message);
  assert.ok(file.value instanceof Map);
  assert.is(file.value.size, 1, 'equal tuple keys are one key');
  assert.equal([...file.value.values()], ['w']);
});

B('a 200,000-deep tuple as a dict key is a DEPTH_LIMIT error, not a stack overflow', async () => {
  const p = new Pickle().proto(2).emptyDict().none();
  const deep = new Uint8Array(200_000).fill(0x85); // TUPLE1, 200,000 times
  const head = p.toBytes();
  const tail = new Pickle().none().setitem().stop().toBytes();
  const { error } = await outcome(torchZip({ pickle: concat([head, deep, tail]) }));
  assert.ok(error, 'refused');
  assert.equal([error.code, error.detail], ['CORRUPT', 'DEPTH_LIMIT']);
});

B('5,000,000 references to one tensor hit the tensor-path limit (TENSOR_LIMIT), in bounded memory', async () => {
  const p = new Pickle().proto(2).emptyList();
  tensorOp({ key: '0', numel: 1, shape: [1] })(p);
  p.put().append();
  const head = p.toBytes();
  const n = 5_000_000, chunk = 1000;
  const body = new Uint8Array((n / chunk) * (2 + 2 * chunk) + 1);
  let o = 0;
  for (let i = 0; i < n / chunk; i++) {
    body[o++] = 0x28; // MARK
    for (let j = 0; j < chunk; j++) { body[o++] = 0x68; body[o++] = 0; } // BINGET 0
    body[o++] = 0x65; // APPENDS
  }
  body[o++] = 0x2e;
  const { error } = await outcome(torchZip({ pickle: concat([head, body]), storages: { 0: f32(1) } }));
  assert.ok(error, 'refused');
  assert.equal([error.code, error.detail], ['CORRUPT', 'TENSOR_LIMIT']);
  assert.match(error.message, 'limits.tensors');
  // The limit is an option: a small one is met by a small file too.
  const small = new Pickle().proto(2).emptyList();
  tensorOp({ key: '0', numel: 1, shape: [1] })(small);
  small.put().append().mark().get(0).get(0).appends().stop();
  const r = await outcome(torchZip({ pickle: small.toBytes(), storages: { 0: f32(1) } }), { limits: { tensors: 2 } });
  assert.is(r.error && r.error.detail, 'TENSOR_LIMIT');
});

B('a data.pkl whose directory size exceeds the pickle cap is refused before it is read or inflated', async () => {
  const pickle = new Pickle().proto(2).str('x'.repeat(5000)).stop().toBytes();
  const bytes = concat(zipParts([['archive/data.pkl', pickle, { deflate: true }], ['archive/version', new TextEncoder().encode('3\n')]]));
  const { error } = await outcome(bytes, { limits: { pickleBytes: 1000 } });
  assert.ok(error, 'refused');
  assert.equal([error.code, error.detail], ['CORRUPT', 'PICKLE_LIMIT']);
  assert.ok((await outcome(bytes)).file, 'under the default cap it reads');
});

B.run();

// ---------------------------------------------------------------- legacy views

/** A legacy (torch < 1.6) file whose one tensor lives in a view of storage '0' with the given offset and size. */
function legacyWithView(viewOffset, viewSize) {
  const pk = (f) => { const p = new Pickle().proto(2); f(p); return p.stop().toBytes(); };
  const magic = pk((p) => p.long(0x1950a86a20f9469cfc6cn));
  const proto = pk((p) => p.int(1001));
  const sys = pk((p) => p.value({ protocol_version: 1001, little_endian: true }));
  const main = pk((p) => {
    p.emptyDict().str('w');
    p.global('torch._utils', '_rebuild_tensor_v2').mark();
    p.mark().str('storage').global('torch', 'FloatStorage').str('0').str('cpu').int(4);
    p.mark().str('v0');
    if (typeof viewOffset === 'number' && Number.isInteger(viewOffset)) p.int(viewOffset); else p.float(viewOffset);
    p.int(viewSize).tuple();
    p.tuple().binpersid();
    p.int(0).mark().int(2).tuple().mark().int(1).tuple().bool(false);
    p.global('collections', 'OrderedDict').emptyTuple().reduce();
    p.tuple().reduce().setitem();
  });
  const keys = pk((p) => p.value(['0']));
  const count = new Uint8Array(8); new DataView(count.buffer).setUint32(0, 4, true);
  return concat([magic, proto, sys, main, keys, count, f32(4)]);
}

const L = suite('readTorch: legacy view offsets are integers');
L('an integer view offset reads the view', async () => {
  const { file, error } = await outcome(legacyWithView(1, 2));
  assert.is(error, undefined, error && error.message);
  assert.equal([...file.tensors.get('w').toFloat32()], [1, 2]);
});
for (const bad of [NaN, 0.5, -1, Infinity]) {
  L(`view offset ${bad} is CORRUPT (PERSISTENT_ID), never a 0-byte or misaligned tensor`, async () => {
    const { error } = await outcome(legacyWithView(bad, 2));
    assert.ok(error, 'refused');
    assert.equal([error.code, error.detail], ['CORRUPT', 'PERSISTENT_ID']);
    assert.match(error.message, 'integer');
  });
}
L.run();

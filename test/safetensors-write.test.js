import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writeSafetensors, MemoryStore, parseSidecar, parseIndex, DTYPES, canonicalJson, signJson, checkJsonMac } from '../dist/index.js';
import { readRepoFile, readRepoJson, listRepoDir, platformSha256Hex, platformHmacHex, rng, randomBytes } from './_env.js';

const VALID = 'test/fixtures/reference/safetensors/valid/';
const dec = new TextDecoder();

/** The tensors of a reference file, sliced by the offsets its expected.json records (no safeckpt reader involved). */
async function referenceTensors(stem) {
  const exp = await readRepoJson(VALID + stem + '.expected.json');
  const file = await readRepoFile(VALID + stem + '.safetensors');
  const start = 8 + exp.header_len;
  const tensors = {};
  for (const [name, t] of Object.entries(exp.tensors)) {
    tensors[name] = { dtype: t.dtype, shape: t.shape, data: file.subarray(start + t.data_offsets[0], start + t.data_offsets[1]) };
  }
  return { exp, file, tensors };
}

const W = suite('writeSafetensors: byte-identical to the reference serializer');
const stems = (await listRepoDir(VALID)).filter((f) => f.endsWith('.safetensors')).map((f) => f.replace('.safetensors', ''));
W('there are reference-made files to compare with', () => assert.ok(stems.length >= 12, String(stems.length)));
for (const stem of stems) {
  W(`${stem}: same bytes as the reference wrote`, async () => {
    const { exp, file, tensors } = await referenceTensors(stem);
    const store = new MemoryStore();
    const r = await writeSafetensors({ store, key: 'out.safetensors' }, tensors, { metadata: exp.metadata ?? undefined });
    const out = await store.read('out.safetensors');
    assert.is(r.size, exp.size);
    if (exp.metadata && Object.keys(exp.metadata).length > 1) {
      // The reference's metadata order is random per process: compare the header as a map and the data as bytes.
      const n = Number(new DataView(out.buffer, out.byteOffset).getBigUint64(0, true));
      assert.is(n, exp.header_len);
      assert.equal(JSON.parse(dec.decode(out.subarray(8, 8 + n))), JSON.parse(exp.header_json));
      assert.equal(out.subarray(8 + n), file.subarray(8 + n));
    } else {
      assert.is(r.sha256, exp.sha256);
      assert.ok(out.length === file.length && out.every((b, i) => b === file[i]), 'bytes equal');
    }
    for (const [name, t] of Object.entries(exp.tensors)) assert.is(r.tensors[name], t.sha256, name);
  });
}
W('tensors sort by dtype in descending reference order, then by name bytewise (UTF-8, not UTF-16)', async () => {
  const t = (dtype) => ({ dtype, shape: [0], data: new Uint8Array(0) });
  const store = new MemoryStore();
  await writeSafetensors({ store, key: 'o.safetensors' }, { b: t('U8'), a: t('U8'), z: t('BOOL'), '\uff01': t('F32'), '\u{1F600}': t('F32'), c: t('U64') });
  const out = await store.read('o.safetensors');
  const names = Object.keys(JSON.parse(dec.decode(out.subarray(8))));
  assert.equal(names, ['c', '\uff01', '\u{1F600}', 'a', 'b', 'z']);
  assert.ok(DTYPES.U64.order > DTYPES.F32.order);
});

const S = suite('writeSafetensors: sidecar, streaming, atomicity');
S('writes a sidecar recording size, SHA-256 of the file, of the header and of each tensor, and the metadata', async () => {
  const { exp, file, tensors } = await referenceTensors('state_dict_f32');
  const store = new MemoryStore();
  const r = await writeSafetensors({ store, key: 'm/model.safetensors' }, tensors, { metadata: { format: 'pt' } });
  assert.is(r.sidecar, 'memory:m/model.safetensors.meta.json');
  const sc = parseSidecar(await store.read('m/model.safetensors.meta.json'), 'x');
  assert.is(sc.format, 'safeckpt.sidecar');
  assert.is(sc.format_version, 1);
  assert.is(sc.file, 'model.safetensors');
  assert.is(sc.size, file.length);
  assert.is(sc.sha256, await platformSha256Hex(file));
  assert.is(sc.header_sha256, await platformSha256Hex(file.subarray(0, 8 + exp.header_len)));
  assert.equal(sc.metadata, { format: 'pt' });
  for (const [name, t] of Object.entries(exp.tensors)) {
    assert.equal(sc.tensors[name], { dtype: t.dtype, shape: t.shape, data_offsets: t.data_offsets, sha256: t.sha256 });
  }
  assert.is(sc.hmac, undefined);
  assert.equal((await store.list('m')).map((e) => e.key), ['m/model.safetensors', 'm/model.safetensors.meta.json']);
});
S('with a key, the sidecar carries key_id and an HMAC over its canonical form; the key is written nowhere', async () => {
  const store = new MemoryStore();
  const key = 'correct horse battery staple';
  await writeSafetensors({ store, key: 'w.safetensors' }, { x: { dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) } }, { key, keyId: 'ci-2026' });
  const raw = await store.read('w.safetensors.meta.json');
  const sc = JSON.parse(dec.decode(raw));
  assert.is(sc.key_id, 'ci-2026');
  const { hmac, ...rest } = sc;
  assert.is(hmac, await platformHmacHex(new TextEncoder().encode(key), new TextEncoder().encode(canonicalJson(rest))));
  for (const k of ['w.safetensors', 'w.safetensors.meta.json']) assert.not.ok(dec.decode(await store.read(k)).includes(key));
  checkJsonMac(sc, key, 'w');
  assert.throws(() => checkJsonMac(sc, 'wrong key', 'w'), (e) => e.code === 'AUTH' && /ci-2026/.test(e.message));
  assert.throws(() => checkJsonMac({ ...sc, size: sc.size + 1 }, key, 'w'), (e) => e.code === 'AUTH');
  assert.throws(() => checkJsonMac(rest, key, 'w'), (e) => e.code === 'AUTH' && e.detail === 'HMAC_MISSING');
});
S('canonical JSON: sorted keys by code point, no whitespace, integers only', () => {
  assert.is(canonicalJson({ b: 1, a: [true, null, 'x\n"'], '\u{1F600}': 0, '\uff01': { z: 1, y: 2 } }),
    '{"a":[true,null,"x\\n\\""],"b":1,"\uff01":{"y":2,"z":1},"\u{1F600}":0}');
  assert.throws(() => canonicalJson({ x: 0.5 }), /integer/);
  const signed = signJson({ a: 1 }, 'k');
  assert.ok(/^[0-9a-f]{64}$/.test(signed.hmac));
});
S('streams: the store receives the data in bounded chunks, never one buffer of the whole file', async () => {
  const seen = [];
  class Spy extends MemoryStore {
    async write(key, data) {
      if (!(data instanceof Uint8Array)) {
        const parts = [];
        for await (const c of data) { seen.push(c.length); parts.push(c.slice()); }
        return super.write(key, parts.length ? new Blob(parts).bytes ? new Uint8Array(await new Blob(parts).arrayBuffer()) : parts[0] : new Uint8Array(0));
      }
      return super.write(key, data);
    }
  }
  const big = new Uint8Array(20 << 20);
  const store = new Spy();
  const r = await writeSafetensors({ store, key: 'big.safetensors' }, { a: { dtype: 'U8', shape: [big.length], data: big }, b: { dtype: 'U8', shape: [3], data: Uint8Array.of(1, 2, 3) } });
  assert.ok(Math.max(...seen) <= 8 << 20, `largest chunk ${Math.max(...seen)}`);
  assert.is(r.size, await store.size('big.safetensors'));
});
S('a tensor that streams its bytes in pieces (pieces(size)) is written as the same bytes, tensor and chunk digests as from one buffer', async () => {
  const bytes = randomBytes(50_000, rng(7));
  const chunks = { threshold: 0, size: 1000 };
  const whole = new MemoryStore();
  await writeSafetensors({ store: whole, key: 'm.safetensors' }, { t: { dtype: 'U8', shape: [bytes.length], data: bytes } }, { chunks });
  // Pieces of odd sizes, unaligned with the 1000-byte chunks (a chunk spans several pieces, a piece several chunks).
  const sizes = [];
  const view = {
    dtype: 'U8', shape: [bytes.length], byteLength: bytes.length,
    bytes: () => { throw new Error('bytes() is not called when pieces() is there'); },
    *pieces(size) {
      sizes.push(size);
      for (let off = 0, i = 0; off < bytes.length; i++) {
        const n = Math.min(bytes.length - off, [1, 999, 2500, 7, 12_345][i % 5]);
        yield bytes.slice(off, off + n);
        off += n;
      }
    },
  };
  const streamed = new MemoryStore();
  await writeSafetensors({ store: streamed, key: 'm.safetensors' }, { t: view }, { chunks });
  assert.equal(sizes, [8 << 20], 'asked once, for pieces of at most the write chunk');
  assert.equal(await streamed.read('m.safetensors'), await whole.read('m.safetensors'));
  const sc = parseSidecar(await streamed.read('m.safetensors.meta.json'), 'x');
  assert.is(sc.tensors.t.chunks.sha256.length, 50);
  assert.is(sc.tensors.t.chunks.sha256[3], await platformSha256Hex(bytes.subarray(3000, 4000)));
  assert.equal(await streamed.read('m.safetensors.meta.json'), await whole.read('m.safetensors.meta.json'));
  // Too few or too many bytes: SHAPE_MISMATCH naming the tensor, and nothing is left written.
  for (const [n, re] of [[bytes.length - 1, /produced 49999 bytes, 50000 were declared/], [bytes.length + 1, /more than the 50000 bytes declared/]]) {
    const bad = { ...view, *pieces() { yield new Uint8Array(n); } };
    const store = new MemoryStore();
    try {
      await writeSafetensors({ store, key: 'b.safetensors' }, { t: bad });
      assert.unreachable();
    } catch (e) {
      assert.is(e.code, 'SHAPE_MISMATCH', e.message);
      assert.match(e.message, re);
      assert.match(e.message, /'t'/);
    }
    assert.equal(await store.list(''), []);
  }
});
S('to a store that copies each chunk before asking for the next (it calls the stream\'s reuseChunks()), pieces a source must copy out go into one reused buffer, on one thread and on workers, with the same bytes and digests', async () => {
  const bytes = randomBytes(20_000, rng(23));
  const chunks = { threshold: 0, size: 1000 };
  const whole = new MemoryStore();
  const tensors = (intos) => ({
    t: {
      dtype: 'U8', shape: [bytes.length], byteLength: bytes.length,
      bytes: () => { throw new Error('bytes() is not called when pieces() is there'); },
      *pieces(size, into) {
        intos.push(into);
        for (let off = 0, i = 0; off < bytes.length; i++) {
          const n = Math.min(bytes.length - off, [1, 999, 2500, 7, 12_345][i % 5]);
          const piece = into ? into.subarray(0, n) : new Uint8Array(n);
          piece.set(bytes.subarray(off, off + n));
          yield piece;
          if (into) piece.fill(0xee); // a source reuses its buffer for the next piece
          off += n;
        }
      },
    },
  });
  await writeSafetensors({ store: whole, key: 'm.safetensors' }, { t: { dtype: 'U8', shape: [bytes.length], data: bytes } }, { chunks });
  /** A memory store that copies each chunk as it arrives, as S3 copies it into a part. */
  class Copying extends MemoryStore {
    async write(key, data) {
      if (data instanceof Uint8Array) return super.write(key, data);
      data.reuseChunks?.();
      const parts = [];
      for await (const c of data) parts.push(c.slice());
      const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
      parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
      return super.write(key, out);
    }
  }
  for (const workers of [0, 2]) {
    const intos = [], plainIntos = [];
    const copying = new Copying();
    await writeSafetensors({ store: copying, key: 'm.safetensors' }, tensors(intos), { chunks, workers });
    assert.ok(intos.length === 1 && intos[0] instanceof Uint8Array && intos[0].length >= 8 << 20, `workers ${workers}: one buffer of a write chunk handed to pieces()`);
    assert.equal(await copying.read('m.safetensors'), await whole.read('m.safetensors'), `workers ${workers}: the same bytes`);
    assert.equal(await copying.read('m.safetensors.meta.json'), await whole.read('m.safetensors.meta.json'), `workers ${workers}: the same sidecar`);
    // A store that may keep chunks after asking for the next (fs, memory) never gets a reused buffer.
    await writeSafetensors({ store: new MemoryStore(), key: 'm.safetensors' }, tensors(plainIntos), { chunks, workers });
    assert.equal(plainIntos, [undefined]);
  }
});
S('on hashing workers (workers: n) the file, tensor and chunk digests are those of one thread', async () => {
  const next = rng(11);
  const tensors = {
    big: { dtype: 'U8', shape: [3 << 20], data: randomBytes(3 << 20, next) },
    odd: { dtype: 'U8', shape: [1_234_567], data: randomBytes(1_234_567, next) },
    empty: { dtype: 'F32', shape: [0], data: new Float32Array(0) },
    tiny: { dtype: 'F32', shape: [3], data: new Float32Array([1, 2, 3]) },
  };
  const chunks = { threshold: 1 << 20, size: 100_000 };
  const one = new MemoryStore(), two = new MemoryStore();
  const a = await writeSafetensors({ store: one, key: 'm.safetensors' }, tensors, { chunks, workers: 0 });
  const b = await writeSafetensors({ store: two, key: 'm.safetensors' }, tensors, { chunks, workers: 2 });
  assert.equal(b, a);
  assert.equal(await two.read('m.safetensors.meta.json'), await one.read('m.safetensors.meta.json'));
  const sc = parseSidecar(await two.read('m.safetensors.meta.json'), 'x');
  assert.is(sc.tensors.big.chunks.sha256.length, 32);
  assert.is(sc.tensors.odd.chunks.sha256[12], await platformSha256Hex(tensors.odd.data.subarray(1_200_000)));
  assert.is(sc.tensors.tiny.chunks, undefined);
});
S('a wrong byte count, an unknown dtype or a non-string metadata value is refused before anything is written', async () => {
  const store = new MemoryStore();
  const bad = [
    [{ x: { dtype: 'F32', shape: [3], data: new Float32Array(2) } }, 'SHAPE_MISMATCH'],
    [{ x: { dtype: 'f32', shape: [1], data: new Float32Array(1) } }, 'DTYPE_MISMATCH'],
    [{ x: { dtype: 'F32', shape: [-1], data: new Float32Array(1) } }, 'SHAPE_MISMATCH'],
    [{ __metadata__: { dtype: 'U8', shape: [0], data: new Uint8Array(0) } }, 'UNSUPPORTED'],
  ];
  for (const [t, code] of bad) {
    try { await writeSafetensors({ store, key: 'x.safetensors' }, t); assert.unreachable(code); } catch (e) { assert.is(e.code, code, e.message); }
  }
  try { await writeSafetensors({ store, key: 'x.safetensors' }, {}, { metadata: { n: 1 } }); assert.unreachable(); } catch (e) { assert.is(e.code, 'UNSUPPORTED'); }
  assert.equal(await store.list(''), []);
});
S('rewriting replaces file and sidecar together; no temporary files remain', async () => {
  const store = new MemoryStore();
  await writeSafetensors({ store, key: 'a.safetensors' }, { x: { dtype: 'U8', shape: [1], data: Uint8Array.of(1) } });
  await writeSafetensors({ store, key: 'a.safetensors' }, { y: { dtype: 'U8', shape: [2], data: Uint8Array.of(2, 3) } });
  assert.equal((await store.list('')).map((e) => e.key), ['a.safetensors', 'a.safetensors.meta.json']);
  assert.equal(Object.keys(parseSidecar(await store.read('a.safetensors.meta.json'), 'a').tensors), ['y']);
});
S('a tf.Tensor-like value (dataSync, lower-case dtype) is written as its safetensors dtype', async () => {
  const store = new MemoryStore();
  const fake = (dtype, shape, values) => ({ dtype, shape, dataSync: () => values });
  const r = await writeSafetensors({ store, key: 't.safetensors' }, {
    w: fake('float32', [2], new Float32Array([1.5, -2])), i: fake('int32', [1], new Int32Array([7])), b: fake('bool', [2], new Uint8Array([0, 3])),
  });
  const out = await store.read('t.safetensors');
  const h = JSON.parse(dec.decode(out.subarray(8, 8 + out[0])));
  assert.equal([h.w.dtype, h.i.dtype, h.b.dtype], ['F32', 'I32', 'BOOL']);
  assert.is(r.tensors.b, await platformSha256Hex(Uint8Array.of(0, 1)));
});

const H = suite('writeSafetensors: sharded like Hugging Face');
H('maxShardSize splits into PREFIX-0000i-of-0000N files plus an index with total_size and weight_map', async () => {
  const store = new MemoryStore();
  const next = rng(3);
  const t = {};
  for (let i = 0; i < 7; i++) t[`layer.${i}.weight`] = { dtype: 'F32', shape: [25], data: randomBytes(100, next) };
  t['big'] = { dtype: 'U8', shape: [500], data: randomBytes(500, next) };
  const r = await writeSafetensors({ store, key: 'm/model.safetensors' }, t, { maxShardSize: 300, key: 'k' });
  const keys = (await store.list('m')).map((e) => e.key);
  assert.equal(keys, [
    'm/model-00001-of-00004.safetensors', 'm/model-00001-of-00004.safetensors.meta.json',
    'm/model-00002-of-00004.safetensors', 'm/model-00002-of-00004.safetensors.meta.json',
    'm/model-00003-of-00004.safetensors', 'm/model-00003-of-00004.safetensors.meta.json',
    'm/model-00004-of-00004.safetensors', 'm/model-00004-of-00004.safetensors.meta.json',
    'm/model.safetensors.index.json', 'm/model.safetensors.index.json.meta.json',
  ]);
  const index = parseIndex(await store.read('m/model.safetensors.index.json'), 'i');
  assert.is(index.metadata.total_size, 1200);
  assert.is(index.weight_map.big, 'model-00001-of-00004.safetensors');
  assert.is(index.weight_map['layer.0.weight'], 'model-00002-of-00004.safetensors');
  assert.is(index.weight_map['layer.6.weight'], 'model-00004-of-00004.safetensors');
  assert.is(r.shards.length, 4);
  assert.is(r.path, 'memory:m/model.safetensors.index.json');
  assert.is(Object.keys(r.tensors).length, 8);
  const text = dec.decode(await store.read('m/model.safetensors.index.json'));
  assert.ok(text.startsWith('{\n  "metadata": {\n    "total_size": 1200\n  },\n  "weight_map": {\n    "big": '), text.slice(0, 80));
});
W.run();
S.run();
H.run();

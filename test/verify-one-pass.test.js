// verify in one pass (issue #17, docs/hashing.md "Verifying in one pass"): when
// the sidecar's per-tensor (or chunk) digests tile the data region, verify
// checks the size, the header's SHA-256 and those digests — each byte hashed
// once — and not the whole-file SHA-256. Nothing is verified less than before:
// a changed byte anywhere (length prefix, header JSON, header padding, every
// tensor, every chunk, the last byte) and a truncated or extended file are
// refused, from memory, over HTTP and from a local file with and without
// workers. A sidecar whose entries do not tile falls back to the whole-file hash.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writeSafetensors, verify, sign, MemoryStore, HttpStore, parseHeader, sidecarKeyFor, sha256, toHex } from '../dist/internal.js';
import { runtime, testEnv, serveFile, rng, randomBytes, hasFs, tempDir } from './_env.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const caught = async (p) => { try { await p; } catch (e) { return e; } assert.unreachable('expected a rejection'); };

// A small file: tensors of several sizes (one empty), one with chunk digests (5 chunks, the last short), and
// a header whose JSON is followed by padding spaces (metadata chosen so that there are some).
const next = rng(1717);
const tensors = {
  a: { dtype: 'F32', shape: [7], data: new Float32Array(randomBytes(28, next).buffer) },
  empty: { dtype: 'F32', shape: [0], data: new Float32Array(0) },
  big: { dtype: 'U8', shape: [4500], data: randomBytes(4500, next) },
  b: { dtype: 'I16', shape: [3, 5], data: new Int16Array(randomBytes(30, next).buffer) },
  z: { dtype: 'U8', shape: [1], data: randomBytes(1, next) },
};
async function build() {
  for (let pad = 0; pad < 8; pad++) {
    const store = new MemoryStore();
    await writeSafetensors({ store, key: 'm.safetensors' }, tensors, { metadata: { note: 'x'.repeat(pad) }, chunks: { threshold: 1000, size: 1024 } });
    const file = await store.read('m.safetensors');
    const h = parseHeader(file);
    const json = dec.decode(file.subarray(8, h.dataStart));
    if (json.length !== json.trimEnd().length) return { file, sidecar: await store.read(sidecarKeyFor('m.safetensors')), h, jsonEnd: 8 + json.trimEnd().length };
  }
  throw new Error('no metadata length gave a padded header');
}
const { file, sidecar, h, jsonEnd } = await build();
const doc = JSON.parse(dec.decode(sidecar));

/** What a change at byte `i` must be reported as. */
function expected(i) {
  // The length prefix, or the JSON: the header no longer parses (CORRUPT; UNSUPPORTED for an unknown dtype), or no longer hashes as recorded.
  if (i < 8 || (i < jsonEnd && file[i] !== 0x78)) return null;
  // A letter of the metadata's value for another, a space of the padding for a tab: the header parses, its hash differs.
  if (i < h.dataStart) return { code: 'INTEGRITY', detail: 'HEADER_HASH_MISMATCH' };
  const off = i - h.dataStart;
  const t = [...h.tensors()].find((x) => x.begin <= off && off < x.end);
  const chunks = doc.tensors[t.name].chunks;
  return chunks ? { code: 'INTEGRITY', detail: 'CHUNK_HASH_MISMATCH', tensor: t.name, chunk: Math.floor((off - t.begin) / chunks.size) }
    : { code: 'INTEGRITY', detail: 'TENSOR_HASH_MISMATCH', tensor: t.name };
}
/** The file with byte `i` changed: inside the header JSON a letter for a letter, padding a tab for a space (both still parse). */
function changed(i) {
  const b = Uint8Array.from(file);
  if (i >= 8 && i < jsonEnd && b[i] === 0x78 /* x */) b[i] = 0x79;
  else if (i >= jsonEnd && i < h.dataStart) b[i] = 0x09;
  else b[i] ^= 0x01;
  return b;
}
function checkError(e, want, what) {
  assert.ok(e && typeof e.code === 'string', `${what}: not a typed error: ${e && e.stack}`);
  if (!want) return assert.ok(e.code === 'CORRUPT' || e.code === 'UNSUPPORTED' || (e.code === 'INTEGRITY' && /^(HEADER_HASH|SIZE)_MISMATCH$/.test(e.detail)), `${what}: ${e.code} ${e.detail}: ${e.message}`);
  assert.equal([e.code, e.detail, e.tensor, e.data?.chunk], [want.code, want.detail, want.tensor, want.chunk], `${what}: ${e.message}`);
}
function logger() {
  const lines = [];
  const log = (m) => lines.push(m);
  return { lines, logger: { debug: log, info: log, warn: log, error: log, critical: log } };
}
const onePass = (lines) => lines.some((m) => m.startsWith('verify: one pass'));
const wholeFile = (lines) => lines.some((m) => m.startsWith('verify: the whole-file hash'));

const M = suite(`verify in one pass: a changed byte anywhere is refused, naming the header, tensor or chunk (${runtime})`);

M('the file as written verifies in one pass; its recorded whole-file hash is the true one', async () => {
  const store = new MemoryStore();
  await store.write('m.safetensors', file);
  await store.write(sidecarKeyFor('m.safetensors'), sidecar);
  const { lines, logger: log } = logger();
  const r = await verify({ store, key: 'm.safetensors' }, { logger: log });
  assert.ok(onePass(lines) && !wholeFile(lines), lines.join('\n'));
  assert.is(r.sidecar, 'verified');
  assert.equal([r.sha256, r.sha256Checked], [toHex(sha256(file)), false]);
  assert.ok(jsonEnd < h.dataStart, 'the header has padding');
  assert.ok(doc.tensors.big.chunks.sha256.length === 5, 'a tensor with chunk digests');
});

M(`every one of the ${file.length} bytes, changed alone, is refused: the header's bytes as the header, a tensor's as that tensor or chunk`, async () => {
  const store = new MemoryStore();
  await store.write(sidecarKeyFor('m.safetensors'), sidecar);
  // Browsers and workerd run a sample (every byte of the header, every 7th of the data): each verify costs more there.
  const step = runtime === 'node' || runtime === 'deno' || runtime === 'bun' ? 1 : 7;
  for (let i = 0; i < file.length; i += i < h.dataStart ? 1 : step) {
    await store.write('m.safetensors', changed(i));
    checkError(await caught(verify({ store, key: 'm.safetensors' })), expected(i), `byte ${i}`);
  }
  await store.write('m.safetensors', changed(file.length - 1));
  checkError(await caught(verify({ store, key: 'm.safetensors' })), expected(file.length - 1), 'the last byte');
});

M('a truncated or extended file is refused', async () => {
  const store = new MemoryStore();
  await store.write(sidecarKeyFor('m.safetensors'), sidecar);
  for (const [what, bytes] of [['one byte short', file.subarray(0, file.length - 1)], ['one byte more', Uint8Array.from([...file, 0])], ['the header only', file.subarray(0, h.dataStart)]]) {
    await store.write('m.safetensors', bytes);
    const e = await caught(verify({ store, key: 'm.safetensors' }));
    // The header's offsets no longer end at the end of the file (CORRUPT), before the sidecar's size is compared.
    assert.ok(e.code === 'CORRUPT' || (e.code === 'INTEGRITY' && e.detail === 'SIZE_MISMATCH'), `${what}: ${e.code} ${e.detail}: ${e.message}`);
  }
});

M('a signed sidecar: one pass too, and a changed byte is still refused', async () => {
  const store = new MemoryStore();
  await store.write('m.safetensors', file);
  await store.write(sidecarKeyFor('m.safetensors'), sidecar);
  await sign({ store, key: 'm.safetensors' }, 'k3y');
  const { lines, logger: log } = logger();
  assert.is((await verify({ store, key: 'm.safetensors' }, { key: 'k3y', logger: log })).hmac, 'verified');
  assert.ok(onePass(lines), lines.join('\n'));
  const i = h.dataStart + h.get('b').begin + 3;
  await store.write('m.safetensors', changed(i));
  checkError(await caught(verify({ store, key: 'm.safetensors' }, { key: 'k3y' })), expected(i), 'signed, a byte of b');
});

const F = suite(`verify falls back to the whole-file hash when the sidecar's digests do not tile the data (${runtime})`);

/** The sidecar with tensor b's recorded offsets moved by one (it no longer describes the header's layout), and a whole-file hash. */
const untiled = (sha) => enc.encode(JSON.stringify({ ...doc, sha256: sha, tensors: { ...doc.tensors, b: { ...doc.tensors.b, data_offsets: [doc.tensors.b.data_offsets[0] + 1, doc.tensors.b.data_offsets[1]] } } }));

F('offsets that differ from the header: the whole-file hash is computed and checked — a stale one is FILE_HASH_MISMATCH', async () => {
  const store = new MemoryStore();
  await store.write('m.safetensors', file);
  await store.write(sidecarKeyFor('m.safetensors'), untiled(doc.sha256));
  const { lines, logger: log } = logger();
  assert.ok((await verify({ store, key: 'm.safetensors' }, { logger: log })).ok);
  assert.ok(wholeFile(lines) && !onePass(lines), lines.join('\n'));
  assert.is((await verify({ store, key: 'm.safetensors' })).sha256Checked, true);
  await store.write(sidecarKeyFor('m.safetensors'), untiled('0'.repeat(64)));
  const e = await caught(verify({ store, key: 'm.safetensors' }));
  assert.equal([e.code, e.detail], ['INTEGRITY', 'FILE_HASH_MISMATCH'], e.message);
  await store.write(sidecarKeyFor('m.safetensors'), untiled(doc.sha256));
  await store.write('m.safetensors', changed(h.dataStart + h.get('a').begin));
  const t = await caught(verify({ store, key: 'm.safetensors' }));
  assert.equal([t.code, t.detail, t.tensor], ['INTEGRITY', 'TENSOR_HASH_MISMATCH', 'a'], t.message);
});

F('a sidecar listing a tensor the file lacks, or a size not the file\'s, is not one pass either', async () => {
  const store = new MemoryStore();
  await store.write('m.safetensors', file);
  await store.write(sidecarKeyFor('m.safetensors'), enc.encode(JSON.stringify({ ...doc, tensors: { ...doc.tensors, ghost: doc.tensors.z } })));
  const e = await caught(verify({ store, key: 'm.safetensors' }));
  assert.equal([e.code, e.detail, e.tensor], ['INTEGRITY', 'TENSOR_MISSING', 'ghost'], e.message);
});

F('with tiling digests a stale whole-file hash is not recomputed by default (the digests bind every byte); wholeFile and sign refuse it', async () => {
  const store = new MemoryStore();
  await store.write('m.safetensors', file);
  await store.write(sidecarKeyFor('m.safetensors'), enc.encode(JSON.stringify({ ...doc, sha256: '0'.repeat(64) })));
  const r = await verify({ store, key: 'm.safetensors' });
  assert.equal([r.sha256, r.sha256Checked], ['0'.repeat(64), false], 'the report gives the value as recorded, not recomputed');
  const { lines, logger: log } = logger();
  const w = await caught(verify({ store, key: 'm.safetensors' }, { wholeFile: true, logger: log }));
  assert.equal([w.code, w.detail], ['INTEGRITY', 'FILE_HASH_MISMATCH'], w.message);
  assert.ok(wholeFile(lines) && !onePass(lines), lines.join('\n'));
  const e = await caught(sign({ store, key: 'm.safetensors' }, 'k3y'));
  assert.equal([e.code, e.detail], ['INTEGRITY', 'FILE_HASH_MISMATCH'], e.message);
  // The true value back: wholeFile recomputes it and says so.
  await store.write(sidecarKeyFor('m.safetensors'), sidecar);
  assert.is((await verify({ store, key: 'm.safetensors' }, { wholeFile: true })).sha256Checked, true);
});

// ---------------------------------------------------------------- over HTTP and from local files
const W = suite(`verify in one pass over HTTP and from a local file: every region changed is refused (${runtime})`);
// A larger file, so that the remote pass groups tensors into several requests and a local one uses workers:
// 24 tensors of 96 KiB … 1 MiB and one of 3 MiB with 1 MiB chunk digests.
const nx = rng(4242);
const large = {};
for (let i = 0; i < 24; i++) large[`w${String(i).padStart(2, '0')}`] = { dtype: 'U8', shape: [(96 << 10) * (1 + (i % 10))], data: randomBytes((96 << 10) * (1 + (i % 10)), nx) };
large.zchunked = { dtype: 'U8', shape: [(3 << 20) + 5], data: randomBytes((3 << 20) + 5, nx) };
const lm = new MemoryStore();
await writeSafetensors({ store: lm, key: 'l.safetensors' }, large, { metadata: { m: 'one pass' }, chunks: { threshold: 2 << 20, size: 1 << 20 } });
const lfile = await lm.read('l.safetensors');
const lside = await lm.read(sidecarKeyFor('l.safetensors'));
const lh = parseHeader(lfile);
const at = (name, k) => lh.dataStart + lh.get(name).begin + k;
// [what, byte changed, expected code, detail, tensor, chunk]
const cases = [
  ['header', 8 + dec.decode(lfile.subarray(8, lh.dataStart)).indexOf('one pass'), 'INTEGRITY', 'HEADER_HASH_MISMATCH'],
  ['padding', lh.dataStart - 1, 'INTEGRITY', 'HEADER_HASH_MISMATCH'],
  ['first data byte', at('w00', 0), 'INTEGRITY', 'TENSOR_HASH_MISMATCH', 'w00'],
  ['a middle tensor', at('w13', 5000), 'INTEGRITY', 'TENSOR_HASH_MISMATCH', 'w13'],
  ['chunk 2', at('zchunked', (2 << 20) + 7), 'INTEGRITY', 'CHUNK_HASH_MISMATCH', 'zchunked', 2],
  ['the last byte', lfile.length - 1, 'INTEGRITY', 'CHUNK_HASH_MISMATCH', 'zchunked', 3],
];
const lchanged = (i) => {
  const b = Uint8Array.from(lfile);
  b[i] = i === lh.dataStart - 1 ? 0x09 : b[i] ^ 1;
  return b;
};
assert.is(lfile[lh.dataStart - 1], 0x20, 'the large header ends in padding');
assert.is(lh.get('zchunked').end, lh.dataLength, 'the tensor with chunk digests is the last one');
// In the metadata value 'one pass': 'o' becomes 'p', the header still parses.
const lchangedHeader = (i) => { const b = Uint8Array.from(lfile); b[i] += 1; return b; };

const dir = `one-pass-${runtime}-${Date.now()}`;
const base = `${testEnv('SAFECKPT_TEST_HTTP')}/${dir}/`;
await serveFile(`${dir}/l.safetensors`, lfile);
await serveFile(`${dir}/l.safetensors.meta.json`, lside);
for (const [name, i] of cases) {
  await serveFile(`${dir}/${name.replace(/ /g, '-')}.safetensors`, name === 'header' ? lchangedHeader(i) : lchanged(i));
  await serveFile(`${dir}/${name.replace(/ /g, '-')}.safetensors.meta.json`, lside);
}
await serveFile(`${dir}/short.safetensors`, lfile.subarray(0, lfile.length - 1));
await serveFile(`${dir}/short.safetensors.meta.json`, lside);
await serveFile(`${dir}/long.safetensors`, concat(lfile, new Uint8Array([0])));
await serveFile(`${dir}/long.safetensors.meta.json`, lside);
function concat(a, b) { const o = new Uint8Array(a.length + b.length); o.set(a); o.set(b, a.length); return o; }

for (const workers of [0, 2]) {
  W(`over HTTP, workers ${workers}: the file verifies in one pass, downloading its data once and its header once`, async () => {
    const store = new HttpStore(base);
    const { lines, logger: log } = logger();
    const r = await verify({ store, key: 'l.safetensors' }, { workers, logger: log });
    assert.ok(onePass(lines), lines.join('\n'));
    assert.is(r.sha256, toHex(sha256(lfile)));
    // The probe, prefix and header to open, the sidecar, then the data region once (not the header again).
    assert.ok(store.stats.bytes <= lfile.length + lside.length + 4096, `${store.stats.bytes} bytes for a ${lfile.length}-byte file`);
  });
  W(`over HTTP, workers ${workers}: a changed byte in the header, padding, a tensor, a chunk, the last byte; a truncated or extended file`, async () => {
    for (const [name, , code, detail, tensor, chunk] of cases) {
      const e = await caught(verify({ store: new HttpStore(base), key: `${name.replace(/ /g, '-')}.safetensors` }, { workers }));
      assert.equal([e.code, e.detail, e.tensor, e.data?.chunk], [code, detail, tensor, chunk], `${name}: ${e.message}`);
    }
    for (const k of ['short', 'long']) {
      const e = await caught(verify({ store: new HttpStore(base), key: `${k}.safetensors` }, { workers }));
      assert.ok(e.code === 'CORRUPT' || (e.code === 'INTEGRITY' && e.detail === 'SIZE_MISMATCH'), `${k}: ${e.code} ${e.detail}: ${e.message}`);
    }
  });
}

if (hasFs) {
  W('a local file, workers 0 and 2: one pass; every case above refused the same way', async () => {
    const { writeFile, rm } = await import('node:fs/promises');
    const d = await tempDir('safeckpt-one-pass-');
    try {
      const path = `${d}/l.safetensors`;
      await writeFile(`${path}.meta.json`, lside);
      for (const workers of [0, 2]) {
        await writeFile(path, lfile);
        const { lines, logger: log } = logger();
        assert.ok((await verify(path, { workers, logger: log })).ok);
        assert.ok(onePass(lines), lines.join('\n'));
        for (const [name, i, code, detail, tensor, chunk] of cases) {
          await writeFile(path, name === 'header' ? lchangedHeader(i) : lchanged(i));
          const e = await caught(verify(path, { workers }));
          assert.equal([e.code, e.detail, e.tensor, e.data?.chunk], [code, detail, tensor, chunk], `workers ${workers}, ${name}: ${e.message}`);
        }
        for (const bytes of [lfile.subarray(0, lfile.length - 1), concat(lfile, new Uint8Array([0]))]) {
          await writeFile(path, bytes);
          const e = await caught(verify(path, { workers }));
          assert.ok(e.code === 'CORRUPT' || (e.code === 'INTEGRITY' && e.detail === 'SIZE_MISMATCH'), `workers ${workers}, ${bytes.length} bytes: ${e.code} ${e.detail}`);
        }
      }
    } finally {
      await rm(d, { recursive: true, force: true });
    }
  });
}

M.run();
F.run();
W.run();

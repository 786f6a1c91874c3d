import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { toFloat32 } from '../dist/index.js';
import { readRepoJson, readRepoFile } from './_env.js';

// Reference decodings written independently of src/format/convert.ts: straight from the format definitions.
function refF16(c) {
  const s = c >> 15 ? -1 : 1, e = (c >> 10) & 31, m = c & 1023;
  if (e === 31) return m ? NaN : s * Infinity;
  return e === 0 ? s * m * Math.pow(2, -24) : s * (1024 + m) * Math.pow(2, e - 25);
}
function refBF16(c) {
  const dv = new DataView(new ArrayBuffer(4));
  dv.setUint32(0, c << 16);
  return dv.getFloat32(0);
}
function refE4M3FN(c) { // OCP FP8 E4M3 (FN): bias 7, S.1111.111 is NaN, no infinities
  const s = c & 0x80 ? -1 : 1, e = (c >> 3) & 15, m = c & 7;
  if (e === 15 && m === 7) return NaN;
  return e === 0 ? s * m / 8 * Math.pow(2, -6) : s * (1 + m / 8) * Math.pow(2, e - 7);
}
function refE5M2(c) { // OCP FP8 E5M2: IEEE-like, bias 15
  const s = c & 0x80 ? -1 : 1, e = (c >> 2) & 31, m = c & 3;
  if (e === 31) return m ? NaN : s * Infinity;
  return e === 0 ? s * m / 4 * Math.pow(2, -14) : s * (1 + m / 4) * Math.pow(2, e - 15);
}
function refE4M3FNUZ(c) { // bias 8, 0x80 is the only NaN, no -0, no inf
  if (c === 0x80) return NaN;
  const s = c & 0x80 ? -1 : 1, e = (c >> 3) & 15, m = c & 7;
  return e === 0 ? s * m / 8 * Math.pow(2, -7) : s * (1 + m / 8) * Math.pow(2, e - 8);
}
function refE5M2FNUZ(c) { // bias 16, 0x80 is the only NaN
  if (c === 0x80) return NaN;
  const s = c & 0x80 ? -1 : 1, e = (c >> 2) & 31, m = c & 3;
  return e === 0 ? s * m / 4 * Math.pow(2, -15) : s * (1 + m / 4) * Math.pow(2, e - 16);
}
const refE8M0 = (c) => (c === 255 ? NaN : Math.pow(2, c - 127));

function same(a, b) {
  return (Number.isNaN(a) && Number.isNaN(b)) || Object.is(a, b);
}

function allCodes(bits) {
  const n = 1 << bits;
  const bytes = new Uint8Array(n * (bits / 8));
  const dv = new DataView(bytes.buffer);
  for (let c = 0; c < n; c++) bits === 16 ? dv.setUint16(2 * c, c, true) : dv.setUint8(c, c);
  return bytes;
}

const C = suite('toFloat32: every bit pattern');
for (const [dtype, bits, ref] of [
  ['F16', 16, refF16], ['BF16', 16, refBF16], ['F8_E4M3', 8, refE4M3FN], ['F8_E5M2', 8, refE5M2],
  ['F8_E4M3FNUZ', 8, refE4M3FNUZ], ['F8_E5M2FNUZ', 8, refE5M2FNUZ], ['F8_E8M0', 8, refE8M0],
]) {
  C(`${dtype}: all ${1 << bits} codes equal the reference decoding (finite, ±0, ±inf, NaN)`, () => {
    const out = toFloat32(dtype, allCodes(bits));
    assert.is(out.length, 1 << bits);
    let bad = [];
    for (let c = 0; c < out.length; c++) {
      const want = Math.fround(ref(c));
      assert.ok(same(ref(c), want), `reference value of 0x${c.toString(16)} is a float32`);
      if (!same(out[c], want)) bad.push(`0x${c.toString(16)}: ${out[c]} != ${want}`);
    }
    assert.equal(bad.slice(0, 5), []);
  });
}
C('F16 agrees with the platform Float16Array where the runtime has one', () => {
  if (typeof Float16Array === 'undefined') return;
  const codes = allCodes(16);
  const plat = new Float16Array(codes.buffer);
  const out = toFloat32('F16', codes);
  for (let c = 0; c < 65536; c++) if (!same(out[c], plat[c])) assert.unreachable(`0x${c.toString(16)}`);
});
C('documented anchor values: E4M3 0x7E=448, E5M2 0x7B=57344, E8M0 0x00=2^-127, BF16 NaN keeps its payload', () => {
  assert.is(toFloat32('F8_E4M3', Uint8Array.of(0x7e))[0], 448);
  assert.is(toFloat32('F8_E5M2', Uint8Array.of(0x7b))[0], 57344);
  assert.is(toFloat32('F8_E8M0', Uint8Array.of(0))[0], Math.pow(2, -127));
  const nan = toFloat32('BF16', Uint8Array.of(0x81, 0x7f));
  assert.is(new Uint32Array(nan.buffer)[0], 0x7f810000);
});

const I = suite('toFloat32: integers, BOOL, wide floats');
I('integer types at their extremes, unaligned input', () => {
  const raw = new Uint8Array(1 + 16);
  const dv = new DataView(raw.buffer, 1);
  dv.setBigInt64(0, -9223372036854775808n, true);
  dv.setBigInt64(8, 9007199254740993n, true);
  assert.equal([...toFloat32('I64', raw.subarray(1))], [Math.fround(-9223372036854775808), Math.fround(9007199254740993)]);
  dv.setBigUint64(0, 18446744073709551615n, true);
  assert.equal([...toFloat32('U64', raw.subarray(1, 9))], [Math.fround(18446744073709551615)]);
  assert.equal([...toFloat32('I8', Uint8Array.of(0x80, 0xff, 1))], [-128, -1, 1]);
  assert.equal([...toFloat32('U16', Uint8Array.of(0xff, 0xff))], [65535]);
  assert.equal([...toFloat32('I16', raw.subarray(1, 3).fill(0).fill(0x80, 1))], [-32768]);
  assert.equal([...toFloat32('I32', Uint8Array.of(0, 0, 0, 0x80))], [-2147483648]);
  assert.equal([...toFloat32('U32', Uint8Array.of(0xff, 0xff, 0xff, 0xff))], [4294967296]);
});
I('BOOL: any non-zero byte is true (the reference accepts bytes other than 0/1)', () => {
  assert.equal([...toFloat32('BOOL', Uint8Array.of(0, 1, 2, 255))], [0, 1, 1, 1]);
});
I('F64 rounds to nearest float32; F32 is a view when aligned', () => {
  const f = new Float64Array([1 / 3, -1e300, 5e-324, Infinity, NaN]);
  const out = toFloat32('F64', new Uint8Array(f.buffer));
  assert.equal([...out].slice(0, 4), [Math.fround(1 / 3), -Infinity, 0, Infinity]);
  assert.ok(Number.isNaN(out[4]));
  const f32 = new Float32Array([1, 2]);
  const bytes = new Uint8Array(f32.buffer);
  assert.is(toFloat32('F32', bytes).buffer, f32.buffer);
});
I('C64 and packed sub-byte floats are refused as UNSUPPORTED naming the tensor', () => {
  for (const d of ['C64', 'F4', 'F6_E2M3']) {
    assert.throws(() => toFloat32(d, new Uint8Array(8), 'w'), (e) => e.code === 'UNSUPPORTED' && e.message.includes('w') && e.message.includes(d));
  }
});
I('the reference fixture dtypes_common decodes to its recorded values', async () => {
  const exp = await readRepoJson('test/fixtures/reference/safetensors/valid/dtypes_common.expected.json');
  const file = await readRepoFile('test/fixtures/reference/safetensors/valid/dtypes_common.safetensors');
  const start = 8 + exp.header_len;
  for (const [name, t] of Object.entries(exp.tensors)) {
    const got = [...toFloat32(t.dtype, file.subarray(start + t.data_offsets[0], start + t.data_offsets[1]), name)];
    const want = [t.values].flat(3).map((v) => Math.fround(typeof v === 'boolean' ? +v : Number(v)));
    assert.equal(got.map((x) => (Object.is(x, -0) ? '-0' : x)), want.map((x) => (Object.is(x, -0) ? '-0' : x)), name);
  }
});
C.run();
I.run();

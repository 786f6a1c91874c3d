// Decoding every safetensors dtype that has a real value to Float32, for
// TensorFlow.js (which knows float32, int32 and bool only). The narrower float
// types (F16, BF16, the F8 family) are decoded bit by bit, so every finite
// value, ±inf and NaN come out exactly; wider types round as Math.fround does.
// Packed sub-byte floats (F4, F6_*) and complex C64 have no single Float32 per
// element and are refused.
import { UnsupportedError } from '../errors.js';
import { dtypeBits, type Dtype } from '../types/dtype.js';

/** A minifloat layout: exponent and mantissa widths, bias, and how the top codes are used. */
interface MiniFloat {
  exp: number;
  man: number;
  bias: number;
  /** 'ieee': top exponent = inf/NaN; 'fn': only all-ones is NaN, no inf; 'fnuz': 0x80 is NaN, no -0, no inf. */
  special: 'ieee' | 'fn' | 'fnuz';
}

const LAYOUTS: Partial<Record<Dtype, MiniFloat>> = {
  F16: { exp: 5, man: 10, bias: 15, special: 'ieee' },
  F8_E5M2: { exp: 5, man: 2, bias: 15, special: 'ieee' },
  F8_E4M3: { exp: 4, man: 3, bias: 7, special: 'fn' },
  F8_E4M3FNUZ: { exp: 4, man: 3, bias: 8, special: 'fnuz' },
  F8_E5M2FNUZ: { exp: 5, man: 2, bias: 16, special: 'fnuz' },
};

/** The value of one code of a minifloat layout (exact: every such value is a double, and a float32). */
export function decodeMiniFloat(code: number, f: MiniFloat): number {
  const bits = 1 + f.exp + f.man;
  const sign = (code >> (bits - 1)) & 1;
  const e = (code >> f.man) & ((1 << f.exp) - 1);
  const m = code & ((1 << f.man) - 1);
  const eMax = (1 << f.exp) - 1;
  if (f.special === 'fnuz' && sign === 1 && e === 0 && m === 0) return NaN;
  if (f.special === 'ieee' && e === eMax) return m === 0 ? (sign ? -Infinity : Infinity) : NaN;
  if (f.special === 'fn' && e === eMax && m === (1 << f.man) - 1) return NaN;
  const mag = e === 0 ? m * 2 ** (1 - f.bias - f.man) : (1 + m / 2 ** f.man) * 2 ** (e - f.bias);
  return sign ? -mag : mag;
}

const tables = new Map<Dtype, Float32Array>();

/** Every code of an 8- or 16-bit float dtype decoded once (256 or 65,536 entries). */
function table(d: Dtype): Float32Array {
  let t = tables.get(d);
  if (!t) {
    const bits = dtypeBits(d);
    t = new Float32Array(1 << bits);
    if (d === 'F8_E8M0') {
      // Scale-only format (OCP MX): 2^(code − 127), and 0xFF is NaN.
      for (let c = 0; c < 256; c++) t[c] = c === 255 ? NaN : 2 ** (c - 127);
    } else {
      const f = LAYOUTS[d]!;
      for (let c = 0; c < t.length; c++) t[c] = decodeMiniFloat(c, f);
    }
    tables.set(d, t);
  }
  return t;
}

/** `bytes` as a typed array of `Ctor`, a view when aligned, else a copy (file data is only 1-byte aligned). */
function aligned<T>(bytes: Uint8Array, width: number, Ctor: new (b: ArrayBufferLike, o: number, n: number) => T): T {
  const src = bytes.byteOffset % width === 0 ? bytes : bytes.slice();
  return new Ctor(src.buffer, src.byteOffset, src.length / width);
}

/**
 * Float32 values of a tensor's little-endian bytes. F32 comes back as a view of
 * `bytes` when aligned (zero copy: do not mutate it); every other dtype is a new array.
 */
export function toFloat32(dtype: Dtype, bytes: Uint8Array, name = 'tensor'): Float32Array {
  const bits = dtypeBits(dtype);
  if (bits % 8 !== 0 || dtype === 'C64') {
    throw new UnsupportedError(`${name}: cannot convert ${dtype} to Float32 (${dtype === 'C64' ? 'complex values have two parts' : 'packed sub-byte floats'}); read its raw bytes() instead`, {
      detail: 'DTYPE_NOT_CONVERTIBLE', tensor: name,
    });
  }
  const n = bytes.length / (bits / 8);
  switch (dtype) {
    case 'F32':
      return aligned(bytes, 4, Float32Array);
    case 'F64':
      return Float32Array.from(aligned(bytes, 8, Float64Array));
    case 'BF16': {
      // bf16 is the upper half of a float32: shifting the bits is exact, NaN payloads included.
      const src = aligned(bytes, 2, Uint16Array);
      const out = new Uint32Array(n);
      for (let i = 0; i < n; i++) out[i] = src[i] << 16;
      return new Float32Array(out.buffer);
    }
    case 'F16': {
      const t = table(dtype), src = aligned(bytes, 2, Uint16Array), out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = t[src[i]];
      return out;
    }
    case 'F8_E4M3': case 'F8_E5M2': case 'F8_E4M3FNUZ': case 'F8_E5M2FNUZ': case 'F8_E8M0': {
      const t = table(dtype), out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = t[bytes[i]];
      return out;
    }
    case 'BOOL': {
      // The reference accepts any byte in a BOOL tensor; anything non-zero is true.
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = bytes[i] === 0 ? 0 : 1;
      return out;
    }
    case 'I8': return Float32Array.from(new Int8Array(bytes.buffer, bytes.byteOffset, n));
    case 'U8': return Float32Array.from(bytes);
    case 'I16': return Float32Array.from(aligned(bytes, 2, Int16Array));
    case 'U16': return Float32Array.from(aligned(bytes, 2, Uint16Array));
    case 'I32': return Float32Array.from(aligned(bytes, 4, Int32Array));
    case 'U32': return Float32Array.from(aligned(bytes, 4, Uint32Array));
    case 'I64': case 'U64': {
      const w = aligned(bytes, 4, Uint32Array), out = new Float32Array(n);
      const signed = dtype === 'I64';
      for (let i = 0; i < n; i++) {
        const lo = w[2 * i], hi = w[2 * i + 1];
        out[i] = (signed ? hi | 0 : hi) * 4294967296 + lo;
      }
      return out;
    }
    default:
      throw new UnsupportedError(`${name}: no Float32 conversion for ${dtype}`, { detail: 'DTYPE_NOT_CONVERTIBLE', tensor: name });
  }
}

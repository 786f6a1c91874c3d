// NumPy arrays and scalars as they appear in torch checkpoints (Hugging Face's
// rng_state.pth holds np.random.get_state(); training scripts save metrics as
// numpy scalars). numpy pickles an array as
//   numpy.core.multiarray._reconstruct(numpy.ndarray, (0,), b'b')   → an empty array
//   BUILD (1, shape, dtype, is_fortran, raw bytes)                   → its contents
// and a dtype as numpy.dtype('u4', False, True) + BUILD (3, '<', …). Both are
// interpreted here as data only: an array becomes a TensorView over its bytes.
// Object arrays (dtype 'O', whose contents are more pickled objects), record
// dtypes and anything else are UNSUPPORTED.
import { CorruptError, UnsupportedError } from '../../errors.js';
import type { Dtype } from '../../types/dtype.js';
import { PyTuple, typeName, type PyAny } from './unpickle.js';
import { elementBytes, TorchStorage, TorchTensor } from './tensor.js';

const CODES: Record<string, Dtype> = {
  b1: 'BOOL', i1: 'I8', u1: 'U8', i2: 'I16', u2: 'U16', i4: 'I32', u4: 'U32', i8: 'I64', u8: 'U64',
  f2: 'F16', f4: 'F32', f8: 'F64', c8: 'C64',
};

export const NUMPY_GLOBALS = new Set([
  'numpy.core.multiarray._reconstruct', 'numpy._core.multiarray._reconstruct', 'numpy.ndarray', 'numpy.dtype',
  'numpy.core.multiarray.scalar', 'numpy._core.multiarray.scalar',
]);

export class NumpyDtype {
  static readonly pyType = 'numpy.dtype';
  byteorder = '=';
  constructor(readonly code: string) {}
  get dtype(): Dtype | null { return CODES[this.code] ?? null; }
  get bigEndian(): boolean { return this.byteorder === '>'; }
}

let arrays = 0;

export class NumpyArray {
  static readonly pyType = 'numpy.ndarray';
  tensor: TorchTensor | null = null;
}

type Fail = (msg: string) => Error;

/** numpy.dtype(code, align, copy). Codes like 'u4', 'f8', '<f4', 'b1', 'O8'. */
export function numpyDtype(args: readonly PyAny[], fail: Fail): NumpyDtype {
  const code = args[0];
  if (typeof code !== 'string') throw fail(`numpy.dtype of a ${typeName(code ?? null)}`);
  const m = /^([<>|=]?)([a-zA-Z])(\d*)$/.exec(code);
  if (!m) throw fail(`numpy.dtype('${code.slice(0, 20)}') is not a simple dtype`);
  const d = new NumpyDtype(m[2] + m[3]);
  if (m[1]) d.byteorder = m[1];
  return d;
}

/** BUILD on a dtype: (version, byteorder, subarray, names, fields, elsize, alignment, flags). */
export function buildDtype(d: NumpyDtype, state: PyAny, fail: Fail): void {
  if (!(state instanceof PyTuple) || state.items.length < 2) throw fail('numpy dtype state is not a tuple');
  const [, order, subarray, names] = state.items;
  if (typeof order !== 'string') throw fail('numpy dtype byte order is not a string');
  if ((subarray ?? null) !== null || (names ?? null) !== null) {
    throw new UnsupportedError(`numpy structured/sub-array dtypes are not supported; save plain arrays`, { detail: 'NUMPY' });
  }
  d.byteorder = order;
}

/** BUILD on an array: (version, shape, dtype, is_fortran, data). */
export function buildArray(a: NumpyArray, state: PyAny, fail: Fail): void {
  if (!(state instanceof PyTuple) || state.items.length !== 5) throw fail('numpy array state is not a 5-tuple');
  const [, shapeV, dt, fortran, data] = state.items;
  const shape = shapeV instanceof PyTuple ? shapeV.items : null;
  if (!shape || !shape.every((x) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0)) throw fail('numpy array shape is not a tuple of sizes');
  if (!(dt instanceof NumpyDtype)) throw fail(`numpy array dtype is a ${typeName(dt ?? null)}`);
  const dtype = dt.dtype;
  if (!dtype) {
    throw new UnsupportedError(`numpy arrays of dtype '${dt.code}' are not supported${dt.code.startsWith('O') ? ' (object arrays hold more pickled objects)' : ''}`, { detail: 'NUMPY' });
  }
  if (!(data instanceof Uint8Array)) throw fail(`numpy array data is a ${typeName(data ?? null)}, not bytes`);
  const dims = shape as number[];
  const numel = dims.reduce((x, y) => x * y, 1);
  if (!Number.isSafeInteger(numel) || data.length !== numel * elementBytes(dtype)) {
    throw new CorruptError(`numpy array [${dims.join(', ')}] of ${dtype} needs ${numel * elementBytes(dtype)} bytes, its data has ${data.length}`, { detail: 'STORAGE_SIZE' });
  }
  const storage = new TorchStorage(`numpy:${arrays++}`, dtype, numel);
  storage.fill(data, dt.bigEndian);
  // Fortran order is column-major: the same bytes, strides reversed.
  const strides = new Array<number>(dims.length);
  let acc = 1;
  if (fortran === true) for (let d = 0; d < dims.length; d++) { strides[d] = acc; acc *= dims[d]; }
  else for (let d = dims.length - 1; d >= 0; d--) { strides[d] = acc; acc *= dims[d]; }
  a.tensor = new TorchTensor(dtype, dims, strides, 0, storage, false);
}

/** numpy.core.multiarray.scalar(dtype, bytes) → a number (a bigint for 64-bit integers past 2^53). */
export function numpyScalar(args: readonly PyAny[], fail: Fail): number | bigint | boolean {
  const [dt, data] = args;
  if (!(dt instanceof NumpyDtype) || !dt.dtype) throw new UnsupportedError(`numpy scalar of dtype ${dt instanceof NumpyDtype ? dt.code : typeName(dt ?? null)} is not supported`, { detail: 'NUMPY' });
  if (!(data instanceof Uint8Array) || data.length !== elementBytes(dt.dtype)) throw fail('numpy scalar data has the wrong size');
  const b = dt.bigEndian ? data.slice().reverse() : data;
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  switch (dt.dtype) {
    case 'BOOL': return v.getUint8(0) !== 0;
    case 'I8': return v.getInt8(0);
    case 'U8': return v.getUint8(0);
    case 'I16': return v.getInt16(0, true);
    case 'U16': return v.getUint16(0, true);
    case 'I32': return v.getInt32(0, true);
    case 'U32': return v.getUint32(0, true);
    case 'F32': return v.getFloat32(0, true);
    case 'F64': return v.getFloat64(0, true);
    case 'I64': case 'U64': {
      const x = dt.dtype === 'I64' ? v.getBigInt64(0, true) : v.getBigUint64(0, true);
      return x >= -(2n ** 53n) && x <= 2n ** 53n ? Number(x) : x;
    }
    default: throw new UnsupportedError(`numpy scalar of dtype ${dt.code} is not supported`, { detail: 'NUMPY' });
  }
}

// The fixed table: every global a torch checkpoint may name, and what it means.
// Nothing here calls Python or anything the file chooses; each entry is a small
// pure function from already-decoded values to a value. A global not listed is
// refused (UNSAFE_PICKLE); the torch globals we recognise but do not interpret
// (sparse, quantized, nested, meta tensors) are refused as UNSUPPORTED.
//
// What the table accepts, and why each is harmless:
//   torch._utils._rebuild_tensor, _rebuild_tensor_v2, _rebuild_tensor_v3   → tensor (geometry checked)
//   torch._utils._rebuild_parameter, _rebuild_parameter_with_state         → tensor marked as parameter
//   torch._tensor._rebuild_from_type_v2 (new_type torch.Tensor / Parameter) → the inner rebuild
//   torch.<X>Storage, torch.cuda.<X>Storage, torch.UntypedStorage         → storage types (names only)
//   torch.<dtype> (float32, bfloat16, uint16, float8_* …)                → dtypes (names only)
//   torch.Size → tuple, torch.device → 'cpu' / 'cuda:0'
//   collections.OrderedDict, collections.Counter, builtins.dict            → dicts
//   builtins.set, builtins.frozenset → arrays; builtins.bytearray, _codecs.encode → bytes
//   argparse.Namespace → plain object (old training scripts pickle their `args`)
//   numpy.core.multiarray._reconstruct + numpy.ndarray + numpy.dtype → a TensorView over the array's bytes;
//   numpy.core.multiarray.scalar → a number (see numpy.ts; HF rng_state.pth holds numpy RNG state)
import { CorruptError, UnsupportedError } from '../../errors.js';
import type { Dtype } from '../../types/dtype.js';
import { PyDict, PyGlobal, PyList, PyObject, PySet, PyTuple, typeName, type PyAny, type Resolver } from './unpickle.js';
import { checkGeometry, elementBytes, TorchStorage, TorchTensor } from './tensor.js';
import { buildArray, buildDtype, NUMPY_GLOBALS, NumpyArray, NumpyDtype, numpyDtype, numpyScalar } from './numpy.js';

/** A storage type global, e.g. torch.FloatStorage. */
export class StorageType {
  static readonly pyType = 'torch storage type';
  constructor(readonly qualname: string, readonly dtype: Dtype | null) {}
}
/** A dtype global, e.g. torch.float32. */
export class TorchDtype {
  static readonly pyType = 'torch.dtype';
  constructor(readonly torchName: string, readonly dtype: Dtype | null) {}
}

const STORAGE_TYPES: Record<string, Dtype | null> = {
  DoubleStorage: 'F64', FloatStorage: 'F32', HalfStorage: 'F16', BFloat16Storage: 'BF16',
  LongStorage: 'I64', IntStorage: 'I32', ShortStorage: 'I16', CharStorage: 'I8', ByteStorage: 'U8',
  BoolStorage: 'BOOL', ComplexFloatStorage: 'C64', UntypedStorage: 'U8',
  // Known to torch, no safetensors dtype.
  ComplexDoubleStorage: null, QInt8Storage: null, QUInt8Storage: null, QInt32Storage: null,
  QUInt4x2Storage: null, QUInt2x4Storage: null,
};

export const TORCH_DTYPES: Record<string, Dtype | null> = {
  float64: 'F64', float32: 'F32', float16: 'F16', bfloat16: 'BF16',
  int64: 'I64', int32: 'I32', int16: 'I16', int8: 'I8', uint8: 'U8', bool: 'BOOL',
  uint16: 'U16', uint32: 'U32', uint64: 'U64', complex64: 'C64',
  float8_e5m2: 'F8_E5M2', float8_e4m3fn: 'F8_E4M3', float8_e5m2fnuz: 'F8_E5M2FNUZ',
  float8_e4m3fnuz: 'F8_E4M3FNUZ', float8_e8m0fnu: 'F8_E8M0',
  complex128: null, complex32: null, qint8: null, quint8: null, qint32: null, quint4x2: null,
  quint2x4: null, float4_e2m1fn_x2: null, bits8: null, bits16: null, bits1x8: null, bits2x4: null, bits4x2: null,
};

const UNSUPPORTED: Record<string, string> = {
  'torch._utils._rebuild_sparse_tensor': 'sparse tensors are not supported; save t.to_dense() instead',
  'torch._utils._rebuild_sparse_csr_tensor': 'sparse tensors are not supported; save t.to_dense() instead',
  'torch.serialization._get_layout': 'sparse tensors are not supported; save t.to_dense() instead',
  'torch._utils._rebuild_qtensor': 'quantized tensors are not supported; save t.dequantize() instead',
  'torch._utils._rebuild_nested_tensor': 'nested tensors are not supported; save their components instead',
  'torch._utils._rebuild_meta_tensor_no_storage': 'meta tensors carry no data',
  'torch._utils._rebuild_wrapper_subclass': 'tensor subclasses are not supported; save plain tensors instead',
  'torch._utils._rebuild_device_tensor_from_numpy': 'device tensors (XLA, MTIA) are not supported; move them to the CPU before saving',
  'torch._utils._rebuild_device_tensor_from_cpu_tensor': 'device tensors (XLA, MAIA) are not supported; move them to the CPU before saving',
  'torch._utils._rebuild_xla_tensor': 'XLA tensors are not supported; move them to the CPU before saving',
};

const FUNCTIONS = new Set([
  'torch._utils._rebuild_tensor', 'torch._utils._rebuild_tensor_v2', 'torch._utils._rebuild_tensor_v3',
  'torch._utils._rebuild_parameter', 'torch._utils._rebuild_parameter_with_state',
  'torch._tensor._rebuild_from_type_v2',
  'torch.Size', 'torch.device', 'torch.Tensor', 'torch.nn.parameter.Parameter',
  'collections.OrderedDict', 'collections.Counter', 'builtins.dict',
  'builtins.set', 'builtins.frozenset', 'builtins.bytearray', '_codecs.encode',
  'argparse.Namespace',
]);

/** Reads the persistent id of a storage (BINPERSID): the reader supplies it, per file format. */
export type PersistentLoader = (pid: PyAny, at: number) => PyAny;

export class TorchResolver implements Resolver {
  constructor(private readonly name: string, private readonly persistentLoader: PersistentLoader) {}

  private corrupt(msg: string, at: number): CorruptError {
    return new CorruptError(`${this.name}: ${msg} (opcode at byte ${at})`, { path: this.name, position: at, detail: 'PICKLE_REBUILD' });
  }

  global(module: string, name: string): PyAny | { refuse: 'unsafe' | 'unsupported'; reason?: string } {
    const q = `${module}.${name}`;
    if (FUNCTIONS.has(q) || NUMPY_GLOBALS.has(q)) return new PyGlobal(module, name);
    if (module === 'torch' || module === 'torch.cuda') {
      if (Object.prototype.hasOwnProperty.call(STORAGE_TYPES, name)) return new StorageType(q, STORAGE_TYPES[name]);
      if (module === 'torch' && Object.prototype.hasOwnProperty.call(TORCH_DTYPES, name)) return new TorchDtype(q, TORCH_DTYPES[name]);
    }
    if (Object.prototype.hasOwnProperty.call(UNSUPPORTED, q)) return { refuse: 'unsupported', reason: UNSUPPORTED[q] };
    return { refuse: 'unsafe' };
  }

  persistent(pid: PyAny, at: number): PyAny {
    return this.persistentLoader(pid, at);
  }

  newobj(cls: PyGlobal, args: readonly PyAny[], at: number): PyAny {
    switch (cls.qualname) {
      case 'collections.OrderedDict': case 'collections.Counter': case 'builtins.dict': case 'builtins.set': case 'builtins.frozenset':
        return this.call(cls, [], at);
      case 'argparse.Namespace':
        if (args.length) throw this.corrupt('argparse.Namespace created with positional arguments', at);
        return new PyObject('argparse.Namespace');
      default:
        throw this.corrupt(`NEWOBJ of ${cls.qualname}, which is not a class the table builds`, at);
    }
  }

  call(fn: PyGlobal, args: readonly PyAny[], at: number): PyAny {
    const q = fn.qualname;
    const arity = (min: number, max = min) => {
      if (args.length < min || args.length > max) throw this.corrupt(`${q} takes ${min === max ? min : `${min}–${max}`} arguments, the pickle gives ${args.length}`, at);
    };
    switch (q) {
      case 'torch._utils._rebuild_tensor':
        arity(4);
        return this.tensor(q, args[0], args[1], args[2], args[3], false, null, null, at);
      case 'torch._utils._rebuild_tensor_v2':
        arity(6, 7);
        return this.tensor(q, args[0], args[1], args[2], args[3], args[4], null, args[6] ?? null, at);
      case 'torch._utils._rebuild_tensor_v3':
        arity(7, 8);
        return this.tensor(q, args[0], args[1], args[2], args[3], args[4], args[6], args[7] ?? null, at);
      case 'torch._utils._rebuild_parameter':
      case 'torch._utils._rebuild_parameter_with_state': {
        arity(q.endsWith('state') ? 4 : 3);
        const t = args[0];
        if (!(t instanceof TorchTensor)) throw this.corrupt(`${q}: data is a ${typeName(t)}, not a tensor`, at);
        t.isParameter = true;
        return t;
      }
      case 'torch.nn.parameter.Parameter': {
        arity(0, 2);
        const t = args[0];
        if (!(t instanceof TorchTensor)) throw this.corrupt(`Parameter(): data is a ${typeName(t ?? null)}, not a tensor`, at);
        t.isParameter = true;
        return t;
      }
      case 'torch._tensor._rebuild_from_type_v2': {
        arity(4);
        const [func, type, inner] = args;
        if (!(func instanceof PyGlobal) || !func.qualname.startsWith('torch._utils._rebuild_')) throw this.corrupt(`${q}: ${typeName(func)} is not a tensor rebuild function`, at);
        if (!(type instanceof PyGlobal) || (type.qualname !== 'torch.Tensor' && type.qualname !== 'torch.nn.parameter.Parameter')) {
          throw new UnsupportedError(`${this.name}: tensor subclass ${typeName(type)} is not supported; save plain tensors instead`, { path: this.name, position: at });
        }
        if (!(inner instanceof PyTuple)) throw this.corrupt(`${q}: arguments are a ${typeName(inner)}, not a tuple`, at);
        const t = this.call(func, inner.items, at);
        if (t instanceof TorchTensor && type.qualname === 'torch.nn.parameter.Parameter') t.isParameter = true;
        return t;
      }
      case 'torch.Size': {
        arity(0, 1);
        const dims = args.length ? seq(args[0]) : [];
        if (!dims || !dims.every((d) => typeof d === 'number' && Number.isSafeInteger(d))) throw this.corrupt('torch.Size of something other than integers', at);
        return new PyTuple(dims);
      }
      case 'torch.device': {
        arity(1, 2);
        const [type, index] = args;
        if (typeof type !== 'string' || (index !== undefined && index !== null && typeof index !== 'number')) throw this.corrupt('torch.device with arguments other than (str, int)', at);
        return index === undefined || index === null ? type : `${type}:${index}`;
      }
      case 'collections.OrderedDict': case 'collections.Counter': case 'builtins.dict': {
        arity(0, 1);
        const d = new PyDict(q);
        if (args.length === 1 && args[0] instanceof PyDict) {
          const src = args[0];
          src.keys.forEach((k, i) => d.set(k, src.values[i], at));
        } else if (args.length === 1) {
          const pairs = seq(args[0]);
          if (!pairs) throw this.corrupt(`${q}() of a ${typeName(args[0])}`, at);
          for (const p of pairs) {
            const kv = seq(p);
            if (!kv || kv.length !== 2) throw this.corrupt(`${q}() item is not a (key, value) pair`, at);
            d.set(kv[0], kv[1], at);
          }
        }
        return d;
      }
      case 'builtins.set': case 'builtins.frozenset': {
        arity(0, 1);
        const items = args.length ? seq(args[0]) : [];
        if (!items) throw this.corrupt(`${q}() of a ${typeName(args[0])}`, at);
        return new PySet([...items], q === 'builtins.frozenset');
      }
      case 'builtins.bytearray': case '_codecs.encode': {
        arity(q === '_codecs.encode' ? 2 : 0, 2);
        return this.bytes(q, args, at);
      }
      case 'argparse.Namespace':
        arity(0);
        return new PyObject(q);
      case 'torch.Tensor':
        throw this.corrupt('torch.Tensor() called directly; torch pickles tensors through _rebuild_tensor_v2', at);
      case 'numpy.core.multiarray._reconstruct': case 'numpy._core.multiarray._reconstruct': {
        arity(3);
        if (!(args[0] instanceof PyGlobal) || args[0].qualname !== 'numpy.ndarray') throw this.corrupt(`${q} of a ${typeName(args[0])}, not numpy.ndarray`, at);
        return new NumpyArray();
      }
      case 'numpy.dtype':
        arity(1, 3);
        return numpyDtype(args, (m) => this.corrupt(m, at));
      case 'numpy.core.multiarray.scalar': case 'numpy._core.multiarray.scalar':
        arity(2);
        return numpyScalar(args, (m) => this.corrupt(m, at));
      default:
        throw this.corrupt(`${q} cannot be applied`, at);
    }
  }

  build(target: PyAny, state: PyAny, at: number): boolean {
    if (target instanceof PyDict && target.cls !== 'builtins.dict') {
      // Instance attributes of a dict subclass: a state dict's `_metadata`. May come as (dict, slots).
      const parts = state instanceof PyTuple && state.items.length === 2 ? state.items : [state];
      for (const part of parts) {
        if (part === null) continue;
        if (!(part instanceof PyDict)) throw this.corrupt(`BUILD state for ${target.cls} is a ${typeName(part)}, not a dict`, at);
        target.attrs ??= new Map();
        part.keys.forEach((k, i) => {
          if (typeof k !== 'string') throw this.corrupt(`attribute name is a ${typeName(k)}`, at);
          target.attrs!.set(k, part.values[i]);
        });
      }
      return true;
    }
    if (target instanceof PyObject) {
      if (!(state instanceof PyDict)) throw this.corrupt(`BUILD state for ${target.cls} is a ${typeName(state)}, not a dict`, at);
      state.keys.forEach((k, i) => {
        if (typeof k !== 'string') throw this.corrupt(`attribute name is a ${typeName(k)}`, at);
        target.fields.set(k, state.values[i]);
      });
      return true;
    }
    if (target instanceof NumpyDtype) { buildDtype(target, state, (m) => this.corrupt(m, at)); return true; }
    if (target instanceof NumpyArray) {
      if (target.tensor) throw this.corrupt('numpy array built twice', at);
      buildArray(target, state, (m) => this.corrupt(m, at));
      return true;
    }
    // torch sets Python attributes on tensors this way; they carry no data we use.
    return target instanceof TorchTensor;
  }

  private bytes(q: string, args: readonly PyAny[], at: number): Uint8Array {
    const [src, enc] = args;
    if (src === undefined) return new Uint8Array(0);
    if (src instanceof Uint8Array) return src;
    if (typeof src !== 'string') throw this.corrupt(`${q}() of a ${typeName(src)}`, at);
    const e = typeof enc === 'string' ? enc.toLowerCase().replace(/_/g, '-') : 'utf-8';
    if (e === 'latin1' || e === 'latin-1' || e === 'iso-8859-1' || e === 'ascii') {
      const out = new Uint8Array(src.length);
      for (let i = 0; i < src.length; i++) {
        const c = src.charCodeAt(i);
        if (c > 0xff) throw this.corrupt(`${q}(): character U+${c.toString(16)} does not fit ${e}`, at);
        out[i] = c;
      }
      return out;
    }
    if (e === 'utf-8' || e === 'utf8') return new TextEncoder().encode(src);
    throw this.corrupt(`${q}(): encoding ${String(enc)} is not supported`, at);
  }

  private tensor(
    fn: string, storage: PyAny, offset: PyAny, size: PyAny, stride: PyAny, requiresGrad: PyAny,
    dtypeArg: PyAny, metadata: PyAny, at: number,
  ): TorchTensor {
    const where = `${this.name}: ${fn.slice(fn.lastIndexOf('.') + 1)} at byte ${at}`;
    if (!(storage instanceof TorchStorage)) throw this.corrupt(`${fn}: argument 0 is a ${typeName(storage)}, not a storage`, at);
    if (typeof offset !== 'number') throw this.corrupt(`${fn}: storage offset is a ${typeName(offset)}`, at);
    const shape = seq(size), strides = seq(stride);
    if (!shape || !strides || !shape.every((x) => typeof x === 'number') || !strides.every((x) => typeof x === 'number')) {
      throw this.corrupt(`${fn}: size and stride must be tuples of integers`, at);
    }
    if (typeof requiresGrad !== 'boolean') throw this.corrupt(`${fn}: requires_grad is a ${typeName(requiresGrad)}`, at);
    let dtype = storage.dtype;
    if (dtypeArg !== null) {
      if (!(dtypeArg instanceof TorchDtype)) throw this.corrupt(`${fn}: dtype is a ${typeName(dtypeArg)}`, at);
      if (!dtypeArg.dtype) throw new UnsupportedError(`${where}: ${dtypeArg.torchName} has no safetensors dtype`, { path: this.name, position: at });
      dtype = dtypeArg.dtype;
    }
    if (metadata instanceof PyDict) {
      for (const bit of ['conj', 'neg']) {
        if (metadata.get(bit) === true) {
          throw new UnsupportedError(`${where}: the tensor has its ${bit} bit set; save t.resolve_conj().resolve_neg() instead`, { path: this.name, position: at });
        }
      }
    }
    // The storage's byte length is declared (numel × element size) and checked against the data when it is read.
    if (storage.nbytes % elementBytes(dtype) !== 0) throw this.corrupt(`${fn}: storage '${storage.key}' of ${storage.nbytes} bytes is not a whole number of ${dtype} elements`, at);
    checkGeometry(where, dtype, shape as number[], strides as number[], offset, storage);
    return new TorchTensor(dtype, shape as number[], strides as number[], offset, storage, requiresGrad);
  }
}

function seq(v: PyAny | undefined): readonly PyAny[] | null {
  return v instanceof PyTuple || v instanceof PyList || v instanceof PySet ? v.items : null;
}

/** `('storage', StorageType, key, location, numel[, view_metadata])`, as torch.save writes it. */
export interface StoragePid {
  type: StorageType;
  key: string;
  location: string;
  numel: number;
  view: { key: string; offset: number; size: number } | null;
}

export function parseStoragePid(pid: PyAny, name: string, at: number, legacy: boolean): StoragePid {
  const bad = (msg: string) => new CorruptError(`${name}: persistent id ${msg} (opcode at byte ${at})`, { path: name, position: at, detail: 'PERSISTENT_ID' });
  if (!(pid instanceof PyTuple)) throw bad(`is a ${typeName(pid)}, not a tuple`);
  const it = pid.items.map((x) => (x instanceof Uint8Array ? new TextDecoder().decode(x) : x));
  if (it[0] !== 'storage') throw bad(`names '${String(it[0])}', not 'storage'`);
  if (it.length !== (legacy ? 6 : 5)) throw bad(`has ${it.length} fields, expected ${legacy ? 6 : 5}`);
  const [, type, key, location, numel, view] = it;
  if (!(type instanceof StorageType)) throw bad(`storage type is a ${typeName(type)}`);
  if (!type.dtype) throw new UnsupportedError(`${name}: ${type.qualname} has no safetensors dtype`, { path: name, position: at });
  if (typeof key !== 'string' || key.length === 0) throw bad('key is not a string');
  if (typeof location !== 'string') throw bad('location is not a string');
  if (typeof numel !== 'number' || !Number.isSafeInteger(numel) || numel < 0) throw bad(`element count ${String(numel)} is not an integer ≥ 0`);
  if (!Number.isSafeInteger(numel * elementBytes(type.dtype))) throw bad(`element count ${numel} is too large`);
  let v: StoragePid['view'] = null;
  if (legacy && view !== null && view !== undefined) {
    const f = view instanceof PyTuple ? view.items : null;
    if (!f || f.length !== 3 || typeof f[0] !== 'string' || typeof f[1] !== 'number' || typeof f[2] !== 'number' ||
      f[1] < 0 || f[2] < 0 || f[1] + f[2] > numel) throw bad('view metadata is not (key, offset, size) inside the storage');
    v = { key: f[0], offset: f[1], size: f[2] };
  }
  return { type, key, location, numel, view: v };
}

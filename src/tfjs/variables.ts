// The model side of the bridge: a model's variables as named tensors, and
// their restore. Three model shapes are accepted: a tfjs-layers LayersModel
// (its `weights`), an object with a `variables` record (the project's TinyLM),
// or a plain record of named tf.Variables. Names are the record keys, or for a
// LayersModel the stable names of names.ts (by layer and role, never tfjs's
// process-global counters), in the model's own order; tfjs's variable names
// never reach a file, so a resumed process may register different ones.
import { errorFor } from '../errors.js';
import type { Dtype } from '../types/dtype.js';
import type { TensorData, TensorLike, TensorMap } from '../types/tensor.js';
import { toFloat32 } from '../format/convert.js';
import type { LayersModelLike, ModelLike, TfOps, Variable, VariableModel } from './tf.js';
import { hasLayers, layerWeightNames } from './names.js';

/** One variable of a model under its stable (file) name. */
export interface NamedVariable {
  name: string;
  variable: Variable;
  /** For LayersModels: writes through the LayerVariable (keeps its own bookkeeping). */
  write?: (t: import('./tf.js').Tensor) => void;
}

const TF_TO_DTYPE: Record<string, Dtype> = { float32: 'F32', int32: 'I32', bool: 'BOOL' };

export function isLayersModel(m: unknown): m is LayersModelLike {
  return typeof m === 'object' && m !== null && Array.isArray((m as LayersModelLike).weights)
    && (m as LayersModelLike).weights.every((w) => typeof w?.read === 'function');
}

function isVariableModel(m: unknown): m is VariableModel {
  const v = (m as VariableModel)?.variables;
  return typeof v === 'object' && v !== null && !isTfVariable(v);
}

function isTfVariable(v: unknown): v is Variable {
  return typeof v === 'object' && v !== null && typeof (v as Variable).assign === 'function'
    && Array.isArray((v as Variable).shape) && typeof (v as Variable).dataSync === 'function';
}

/** The model's variables under their file names, in the model's order. */
export function namedVariables(model: ModelLike): NamedVariable[] {
  if (isLayersModel(model)) {
    const named = hasLayers(model) ? layerWeightNames(model) : model.weights.map((w) => ({ name: w.name, weight: w }));
    return named.map(({ name, weight: w }) => ({ name, variable: w.read(), write: (t) => void w.write(t) }));
  }
  const rec = isVariableModel(model) ? model.variables : (model as Readonly<Record<string, Variable>>);
  const out: NamedVariable[] = [];
  for (const [name, v] of Object.entries(rec)) {
    if (!isTfVariable(v)) {
      throw errorFor('UNSUPPORTED', `model entry '${name}' is not a tf.Variable: pass a LayersModel, a { variables } model or a record of tf.Variables`, {
        detail: 'NOT_A_VARIABLE', tensor: name,
      });
    }
    out.push({ name, variable: v });
  }
  return out;
}

/** The safetensors dtype of a tf dtype (float32, int32, bool); UNSUPPORTED otherwise. */
export function dtypeOfTf(tfDtype: string, name: string): Dtype {
  const d = TF_TO_DTYPE[tfDtype];
  if (!d) {
    throw errorFor('UNSUPPORTED', `variable '${name}' has tf dtype '${tfDtype}', which safetensors checkpoints do not carry (float32, int32 and bool are supported)`, {
      detail: 'DTYPE', tensor: name,
    });
  }
  return d;
}

/**
 * A snapshot of `v`'s values as a TensorData (a copy: training may continue while it is written).
 */
export function snapshotTensor(v: import('./tf.js').Tensor, name: string): TensorData {
  const dtype = dtypeOfTf(v.dtype, name);
  const values = v.dataSync();
  const data = dtype === 'BOOL' ? Uint8Array.from(values as ArrayLike<number>) : (values as Float32Array | Int32Array).slice();
  return { dtype, shape: [...v.shape], data };
}

/** Every variable of `model` as a TensorMap (copied values, in model order). */
export function snapshotModel(model: ModelLike, take: (t: import('./tf.js').Tensor, name: string) => TensorLike = snapshotTensor): TensorMap {
  const out: TensorMap = {};
  for (const { name, variable } of namedVariables(model)) out[name] = take(variable, name);
  return out;
}

/** { dtype, shape } of each variable: what a checkpoint must match. */
export function modelSignature(model: ModelLike): Record<string, { dtype: Dtype; shape: number[] }> {
  const out: Record<string, { dtype: Dtype; shape: number[] }> = {};
  for (const { name, variable } of namedVariables(model)) out[name] = { dtype: dtypeOfTf(variable.dtype, name), shape: [...variable.shape] };
  return out;
}

function isView(t: TensorLike): t is import('../types/tensor.js').TensorView {
  return typeof (t as { bytes?: unknown }).bytes === 'function';
}

/** The little-endian bytes of a TensorMap entry. */
export function tensorBytes(t: TensorLike): Uint8Array {
  if (isView(t)) return t.bytes();
  const d = t.data;
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

/** Float dtypes a float32 variable accepts, converted exactly (F64 rounds as Math.fround does). */
const FLOAT_DTYPES = new Set<Dtype>(['F32', 'F16', 'BF16', 'F64', 'F8_E5M2', 'F8_E4M3', 'F8_E4M3FNUZ', 'F8_E5M2FNUZ']);

/** True when a tensor of `d` can be loaded into a variable of `tfDtype`. */
export function loadableInto(d: Dtype, tfDtype: string): boolean {
  if (tfDtype === 'float32') return FLOAT_DTYPES.has(d);
  return TF_TO_DTYPE[tfDtype] === d;
}

/** The realm's tfjs backend when it is the WASM one (tfjs-core keeps its one engine on the global object), else undefined. */
function wasmBackend(): WasmBackendLike | undefined {
  const e = (globalThis as { _tfengine?: { backendName?: string; backend?: WasmBackendLike } })._tfengine;
  return e?.backendName === 'wasm' ? e.backend ?? {} : undefined;
}

/** Whether tf.tensor(values) copies `values` into the backend's own memory before it returns (tfjs-backend-wasm). */
function backendCopiesValues(): boolean {
  return wasmBackend() !== undefined;
}

/**
 * Values of `t` as the typed array tf needs for `tfDtype`. F32 is copied bit for bit (no
 * rounding); the other float dtypes go through toFloat32 (exact for F16, BF16 and F8). On a backend that copies
 * what tf.tensor() is given (WASM) an aligned F32/I32 tensor is a view of its bytes, else a copy.
 */
export function valuesFor(t: TensorLike, tfDtype: string, name: string): Float32Array | Int32Array | Uint8Array {
  const bytes = tensorBytes(t);
  if (!loadableInto(t.dtype, tfDtype)) {
    throw errorFor('DTYPE_MISMATCH', `tensor '${name}' is ${t.dtype} in the checkpoint but the variable is ${tfDtype}`, {
      tensor: name, data: { expected: tfDtype, found: t.dtype },
    });
  }
  if (t.dtype === 'F32' || t.dtype === 'I32') {
    // tf.tensor() on the WASM backend copies the values into its heap at once, so an aligned view of the file's
    // bytes is all it needs (a second copy of a 1 GiB model into fresh memory: ~1 s of a load, BENCHMARKS.md "s3");
    // other backends keep the array they are given as the tensor's memory, so they get a copy of their own.
    const own = bytes.byteOffset % 4 === 0 && backendCopiesValues() ? bytes : bytes.slice();
    return t.dtype === 'F32' ? new Float32Array(own.buffer, own.byteOffset, own.length >> 2) : new Int32Array(own.buffer, own.byteOffset, own.length >> 2);
  }
  if (t.dtype === 'BOOL') return bytes.slice();
  return toFloat32(t.dtype, bytes, name);
}

/** A tf tensor of `t`'s values, for assigning to a variable of `tfDtype`. */
export function toTfTensor(tf: TfOps, t: TensorLike, tfDtype: string, name: string): import('./tf.js').Tensor {
  return tf.tensor(valuesFor(t, tfDtype, name), [...t.shape], tfDtype as 'float32');
}

/**
 * The WASM backend's view of `v`'s values in its heap when nothing else shares them (its data's reference count
 * is 1: no reshape, clone, or asynchronous save's capture holds it) and they are `byteLength` bytes, so writing
 * there changes `v` alone; else null.
 */
function ownHeapValues(v: Variable, byteLength: number): ArrayBufferView | null {
  const backend = wasmBackend();
  if (typeof backend?.refCount !== 'function' || typeof backend.typedArrayFromHeap !== 'function') return null;
  const dataId = (v as unknown as { dataId: object }).dataId;
  if (backend.refCount(dataId) !== 1) return null;
  const view = backend.typedArrayFromHeap(v);
  return view.byteLength === byteLength ? view : null;
}

interface WasmBackendLike {
  refCount?(dataId: object): number;
  typedArrayFromHeap?(t: unknown): ArrayBufferView;
}

/**
 * Prepares assigning `tensors` (file names → values) to `vars`. Every variable must have a tensor
 * of its exact shape (callers report all mismatches at once with checkShapes first; this is the
 * last line of defence). Nothing is assigned before `commit()`.
 *
 * On the WASM backend a variable whose memory is its own takes the values in place at commit: a copy into
 * memory already mapped, where a new tensor first grew the heap by its size (fresh pages: ~0.6 s of a 1 GiB
 * load, BENCHMARKS.md "s3"). Should another holder share it by then, it gets a new tensor instead; those are
 * all made before the first variable is written, so a failure still changes nothing.
 */
export function planModelRestore(tf: TfOps, vars: NamedVariable[], tensors: TensorMap, where: string): import('./optimizer-state.js').RestorePlan {
  // Per variable: a tensor made now, or the values to write in place at commit.
  const made: Array<import('./tf.js').Tensor | { values: ArrayBufferView; dtype: string; shape: number[] }> = [];
  const dispose = () => {
    for (const t of made) if ('dispose' in t) t.dispose();
  };
  try {
    for (const { name, variable, write } of vars) {
      const t = tensors[name];
      if (!t) throw errorFor('SHAPE_MISMATCH', `${where}: tensor '${name}' is missing`, { tensor: name, path: where });
      if (t.shape.length !== variable.shape.length || t.shape.some((d, i) => d !== variable.shape[i])) {
        throw errorFor('SHAPE_MISMATCH', `${where}: tensor '${name}' has shape [${t.shape.join(', ')}], the model expects [${variable.shape.join(', ')}]`, {
          tensor: name, path: where,
        });
      }
      if (!write && variable.dtype !== 'bool' && ownHeapValues(variable, variable.size * 4)) made.push({ values: valuesFor(t, variable.dtype, name), dtype: variable.dtype, shape: [...t.shape] });
      else made.push(toTfTensor(tf, t, variable.dtype, name));
    }
  } catch (e) {
    dispose();
    throw e;
  }
  return {
    commit() {
      // Values whose variable is shared by now become tensors first: until every one exists, nothing is written.
      try {
        made.forEach((m, i) => {
          if (!('dispose' in m) && !ownHeapValues(vars[i].variable, m.values.byteLength)) made[i] = tf.tensor(m.values as Float32Array, m.shape, m.dtype as 'float32');
        });
      } catch (e) {
        dispose();
        throw e;
      }
      // Views of the heap only now: making a tensor may have grown it, and a view from before would be detached.
      vars.forEach((v, i) => {
        const m = made[i];
        if ('dispose' in m) {
          if (v.write) v.write(m);
          else v.variable.assign(m);
          m.dispose();
        } else {
          const heap = ownHeapValues(v.variable, m.values.byteLength)!;
          new Uint8Array(heap.buffer, heap.byteOffset, heap.byteLength).set(new Uint8Array(m.values.buffer, m.values.byteOffset, m.values.byteLength));
        }
      });
    },
    abort: dispose,
  };
}

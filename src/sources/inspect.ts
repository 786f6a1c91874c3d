// inspect: what a weights source holds — format, tensors (dtype, shape, size), metadata — without
// loading it. The detector (./detect.ts) says what the source is; one inspector per kind describes it.
// The CLI's \`safeckpt inspect\` prints what this returns.
import type { Store } from '../store/store.js';
import { NotFoundError } from '../errors.js';
import { detectSource } from './detect.js';
import { inspectSafetensors } from './inspect-safetensors.js';
import { inspectSharded } from './inspect-sharded.js';
import { inspectTorch } from './inspect-torch.js';
import { inspectCheckpoint } from './inspect-checkpoint.js';
import { underSignal, type OperationOptions } from '../types/operation.js';

export interface InspectedTensor {
  name: string;
  dtype: string;
  shape: number[];
  byteLength: number;
  /** Where the bytes are, when the format stores tensors as one range each. */
  offsets?: [number, number];
  /** SHA-256 of the tensor's contiguous little-endian bytes (with --digests). */
  sha256?: string;
  /** The shard holding the tensor (sharded models). */
  file?: string;
}

export interface Inspection {
  format: string;
  path: string;
  /** File size in bytes. */
  size: number;
  /** In file order. */
  tensors: InspectedTensor[];
  metadata: Readonly<Record<string, string>> | null;
  /** Format-specific facts, printed as `key: value` and kept in the JSON. */
  details?: Record<string, string | number>;
}

/** Options of inspectSource: tensor digests (reads the data), and a signal and progress for that hashing. */
export interface InspectOptions extends OperationOptions {
  digests: boolean;
}

/** Inspects `store[key]` as the detector tells: checkpoint, sharded model, torch file, or safetensors. */
export async function inspectSource(store: Store, key: string, opts: InspectOptions): Promise<Inspection> {
  return underSignal(opts.signal, () => inspectDetected(store, key, opts));
}

async function inspectDetected(store: Store, key: string, opts: InspectOptions): Promise<Inspection> {
  const d = await detectSource(store, key);
  switch (d.kind) {
    case 'checkpoint': return inspectCheckpoint(store, d.key, opts);
    case 'sharded': return inspectSharded(store, d.key, opts, d.probe);
    case 'torch': return inspectTorch(store, d.key, opts);
    case 'safetensors': return inspectSafetensors(store, d.key, opts, d.probe);
    default:
      if (d.probe) return inspectSafetensors(store, d.key, opts, d.probe); // any file may be a broken safetensors one: its reader says what is wrong
      throw new NotFoundError(`${store.describe(key)} is no file, and holds no checkpoint, no model.safetensors, no *.safetensors.index.json and no single .safetensors file to inspect (pass a file)`, {
        path: store.describe(key),
      });
  }
}

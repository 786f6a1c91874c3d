// The tensors of any weights source safeckpt reads — a safetensors file, a
// sharded model (its index or its folder), a legacy PyTorch .pt — behind one
// small interface: names, dtype/shape without reading data, and each tensor on
// demand. Tools that compare or validate weights (diff, validation) read
// through this and never branch on the format themselves.
import { CheckpointError, NotFoundError } from '../errors.js';
import { resolveSource, type Source } from '../store/resolve.js';
import type { Store } from '../store/store.js';
import { loggerFrom, type Logger } from '../log/logger.js';
import { joinKey } from '../store/keys.js';
import { LATEST, MANIFEST } from '../checkpoint/layout.js';
import { locateCheckpoint, readCheckpointDir } from '../checkpoint/read.js';
import type { Dtype } from '../types/dtype.js';
import type { TensorView } from '../types/tensor.js';
import type { MacKey } from '../format/signed-json.js';
import { readSafetensors } from '../format/safetensors-read.js';
import { isIndexKey } from '../format/sharded.js';
import { readTorchFile } from '../format/torch/read.js';
import { looksLikeZip } from '../format/torch/zip.js';

export interface TensorEntry {
  readonly dtype: Dtype;
  readonly shape: readonly number[];
  readonly byteLength: number;
}

export interface TensorSource {
  /** 'checkpoint': the model weights of a training checkpoint; 'tensors': a record given in memory. */
  readonly format: 'safetensors' | 'sharded' | 'torch' | 'checkpoint' | 'tensors';
  /** The file, index or folder, as people can read it. */
  readonly path: string;
  /** In file order (.pt: the dotted paths of the pickled structure). */
  readonly names: readonly string[];
  readonly metadata: Readonly<Record<string, string>> | null;
  /** dtype, shape and size without reading any data; undefined for an unknown name. */
  info(name: string): TensorEntry | undefined;
  /** The tensor's bytes (fetched on demand; verified against a sidecar when there is one). */
  tensor(name: string): Promise<TensorView>;
  /** A training checkpoint: every file it lists was checked against the manifest when it was opened. */
  readonly checkpoint?: CheckpointFacts;
}

export interface CheckpointFacts {
  step: number;
  /** Files the manifest lists, each checked for its size and SHA-256. */
  files: number;
  /** The manifest's HMAC: checked with the key given, present but not checked, or absent. */
  hmac: 'verified' | 'not-checked' | 'unsigned';
  keyId?: string;
  /** Tensors of the optimizer state (not among `names`, which are the model's). */
  optimizerTensors: number;
}

export interface OpenTensorsOptions {
  /** HMAC key the sidecars must be signed with (safetensors). */
  key?: MacKey;
  /** Check tensors against their sidecar when there is one (default true). */
  verify?: boolean;
  logger?: Logger;
}

/** File names torch.save output goes by (HF's pytorch_model.bin included). */
const TORCH_NAME = /\.(pt|pth|bin|ckpt)$/i;
/** The first bytes of a legacy (pre-1.6) torch.save file: pickle protocol 2, then the magic number as a LONG1. */
const LEGACY_TORCH_HEAD = [0x80, 0x02, 0x8a, 0x0a];

/** True when `store[key]` is a torch.save file: by its name, else by its first bytes (a zip, or the legacy magic). */
async function isTorch(store: Store, key: string): Promise<boolean> {
  if (TORCH_NAME.test(key)) return true;
  if (key === '' || key.endsWith('.safetensors') || isIndexKey(key)) return false;
  let head: Uint8Array;
  try {
    head = await store.read(key, { start: 0, end: Math.min(4, await store.size(key)) });
  } catch (e) {
    // A folder (or something absent): the safetensors reader locates what is in it, or says what is missing.
    if (e instanceof CheckpointError) return false;
    throw e;
  }
  return looksLikeZip(head) || LEGACY_TORCH_HEAD.every((b, i) => head[i] === b);
}

/** True when `store[key]` is a checkpoint folder or a checkpoint root (a folder with checkpoint.json or LATEST). */
export async function isCheckpointFolder(store: Store, key: string): Promise<boolean> {
  if (/\.(safetensors|json|pt|pth|bin|ckpt)$/i.test(key)) return false;
  const has = (name: string) => store.exists(joinKey(key, name)).catch(() => false);
  return (await has(MANIFEST)) || (await has(LATEST));
}

/** Opens any weights source for reading tensors by name. */
export async function openTensors(src: Source, opts: OpenTensorsOptions = {}): Promise<TensorSource> {
  const ref = resolveSource(src);
  if (await isCheckpointFolder(ref.store, ref.key)) {
    // Always verified: a checkpoint is read whole and every byte checked against its manifest (and its HMAC with a key).
    const c = await readCheckpointDir(ref.store, await locateCheckpoint(ref.store, ref.key), { key: opts.key, logger: loggerFrom(opts) });
    const m = c.manifest;
    return {
      format: 'checkpoint',
      path: c.path,
      names: c.model.names,
      metadata: c.model.metadata,
      info: (n) => c.model.header.get(n),
      tensor: (n) => c.model.tensor(n),
      checkpoint: {
        step: m.step, files: Object.keys(m.files).length,
        hmac: m.hmac === undefined ? 'unsigned' : opts.key !== undefined ? 'verified' : 'not-checked',
        ...(m.key_id !== undefined ? { keyId: m.key_id } : {}),
        optimizerTensors: c.optimizer?.names.length ?? 0,
      },
    };
  }
  if (await isTorch(ref.store, ref.key)) {
    // torch writes CRC-32s and never checks them; a .pt has no sidecar, so the CRCs are all there is.
    const f = await readTorchFile(ref, { verifyCrc: opts.verify !== false });
    const names = [...f.tensors.keys()];
    return {
      format: 'torch',
      path: ref.store.describe(ref.key),
      names,
      metadata: null,
      info: (n) => f.tensors.get(n),
      async tensor(n) {
        const t = f.tensors.get(n);
        if (!t) throw missing(ref.store.describe(ref.key), n, names);
        return t;
      },
    };
  }
  const f = await readSafetensors(ref, { load: 'none', verify: opts.verify, key: opts.key, logger: opts.logger });
  return {
    format: f.files.length > 1 || f.path.endsWith('.json') ? 'sharded' : 'safetensors',
    path: f.path,
    names: f.names,
    metadata: f.metadata,
    info: (n) => f.header.get(n),
    tensor: (n) => f.tensor(n),
  };
}

function missing(path: string, name: string, names: readonly string[]): CheckpointError {
  return new NotFoundError(`${path} has no tensor '${name}' (it has ${names.length}: ${names.slice(0, 5).join(', ')}${names.length > 5 ? ', …' : ''})`, { path, tensor: name });
}

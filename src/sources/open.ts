// The tensors of any weights source safeckpt reads — a safetensors file, a
// sharded model (its index or its folder), a legacy PyTorch .pt — behind one
// small interface: names, dtype/shape without reading data, and each tensor on
// demand. Tools that compare or validate weights (diff, validation) read
// through this and never branch on the format themselves.
import { CheckpointError, NotFoundError } from '../errors.js';
import { resolveSource, type Source } from '../store/resolve.js';
import { loggerFrom, type Logger } from '../log/logger.js';
import { locateCheckpoint, readCheckpointDir } from '../checkpoint/read.js';
import type { Dtype } from '../types/dtype.js';
import type { TensorView } from '../types/tensor.js';
import { signatureStatus, type MacKey, type SignatureStatus } from '../format/signed-json.js';
import { openModel } from '../format/safetensors-read.js';
import { publicKeyCheck } from '../format/public-key-check.js';
import type { PublicKeyInput } from '../format/signature.js';
import { readTorchFile } from '../format/torch/read.js';
import { detectSource } from './detect.js';
import { throwIfAborted } from '../types/operation.js';

/** A tensor's dtype, shape and size, known without reading its data. */
export interface TensorEntry {
  readonly dtype: Dtype;
  readonly shape: readonly number[];
  readonly byteLength: number;
}

/** Any weights source (safetensors, sharded, .pt, checkpoint) behind one interface: names, info, tensors on demand. */
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

/** What openTensors checked of a training checkpoint: step, files, HMAC status. */
export interface CheckpointFacts {
  step: number;
  /** Files the manifest lists, each checked for its size and SHA-256. */
  files: number;
  /** The manifest's HMAC: checked with the key given, present but not checked, or absent. */
  hmac: SignatureStatus;
  keyId?: string;
  /** Tensors of the optimizer state (not among `names`, which are the model's). */
  optimizerTensors: number;
}

/** Options of openTensors: the HMAC key, whether to verify, a logger. */
export interface OpenTensorsOptions {
  /** HMAC key the sidecars must be signed with (safetensors). */
  key?: MacKey;
  /** Ed25519 public key: the sidecars (sharded: and the index sidecar; a checkpoint: its manifest) must be signed by it (AUTH otherwise), as verify checks. */
  publicKey?: PublicKeyInput;
  /** Check tensors against their sidecar when there is one (default true). */
  verify?: boolean;
  logger?: Logger;
  /** Cancels the open and every later tensor read of the source (they reject with its reason). */
  signal?: AbortSignal;
}

/** Opens any weights source for reading tensors by name. */
export async function openTensors(src: Source, opts: OpenTensorsOptions = {}): Promise<TensorSource> {
  throwIfAborted(opts.signal);
  const ref = resolveSource(src, { signal: opts.signal });
  const checkSignature = opts.publicKey !== undefined ? await publicKeyCheck(opts.publicKey) : undefined;
  const d = await detectSource(ref.store, ref.key);
  if (d.kind === 'checkpoint') {
    // Always verified: a checkpoint is read whole and every byte checked against its manifest (and its HMAC with a key).
    const c = await readCheckpointDir(ref.store, await locateCheckpoint(ref.store, d.key), { key: opts.key, checkSignature, logger: loggerFrom(opts), signal: opts.signal });
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
        hmac: signatureStatus(m.hmac !== undefined, opts.key !== undefined),
        ...(m.key_id !== undefined ? { keyId: m.key_id } : {}),
        optimizerTensors: c.optimizer?.names.length ?? 0,
      },
    };
  }
  if (d.kind === 'torch') {
    // A .pt has no sidecar, so nothing in it can carry a signature: with a public key that is AUTH SIGNATURE_MISSING.
    await checkSignature?.(null, ref.store.describe(d.key) + '.meta.json');
    // torch writes CRC-32s and never checks them; a .pt has no sidecar, so the CRCs are all there is.
    const f = await readTorchFile({ store: ref.store, key: d.key }, { verifyCrc: opts.verify !== false });
    const names = [...f.tensors.keys()];
    const path = ref.store.describe(d.key);
    return {
      format: 'torch',
      path,
      names,
      metadata: null,
      info: (n) => f.tensors.get(n),
      async tensor(n) {
        const t = f.tensors.get(n);
        if (!t) throw missing(path, n, names);
        return t;
      },
    };
  }
  const sharded = d.kind === 'sharded';
  const f = await openModel(ref.store, sharded ? 'sharded' : 'file', d.key, { load: 'none', verify: opts.verify, key: opts.key, checkSignature, logger: opts.logger, signal: opts.signal }, d.probe);
  return {
    format: sharded ? 'sharded' : 'safetensors',
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

// verify() for a training checkpoint folder (or a root: the folder its LATEST
// names): every file the manifest lists against its size and SHA-256, the
// manifest's HMAC when a key is given, the safetensors structure and the
// trainer state — the same checks a load makes, without a model.
// Loaded only by dynamic import. The entry, imported for no bindings, keeps a page's start code in one
// chunk when a bundler splits code (the lazy-module hint: scripts/check-imports.js).
import '../index.js';
import type { Store } from '../store/store.js';
import { signatureStatus, type MacKey, type SignatureCheck, type SignatureStatus } from '../format/signed-json.js';
import type { Logger } from '../log/logger.js';
import { loggerFrom } from '../log/logger.js';
import { locateCheckpoint, readCheckpointDir } from './read.js';
import type { OperationOptions } from '../types/operation.js';

export interface CheckpointVerifyReport {
  ok: true;
  kind: 'checkpoint';
  path: string;
  size: number;
  tensors: number;
  sidecar: 'verified';
  hmac: SignatureStatus;
  keyId?: string;
  /** Ed25519: 'verified' by the public key given; 'not-checked' signed, no public key given; 'unsigned' none. */
  signature: SignatureStatus;
  /** Fingerprints (SHA-256 of the SPKI) of the keys that signed the manifest. */
  signedBy: string[];
  metadata: Readonly<Record<string, string>>;
  warnings: string[];
}

export async function verifyCheckpoint(store: Store, key: string, opts: { key?: MacKey; checkSignature?: SignatureCheck; logger?: Logger } & OperationOptions = {}): Promise<CheckpointVerifyReport> {
  const warnings: string[] = [];
  const log = loggerFrom(opts);
  const collect: Logger = { ...log, warn: (msg, f) => { warnings.push(msg); log.warn(msg, f); } };
  const c = await readCheckpointDir(store, await locateCheckpoint(store, key), { key: opts.key, checkSignature: opts.checkSignature, logger: collect, signal: opts.signal, onProgress: opts.onProgress });
  const m = c.manifest;
  return {
    ok: true, kind: 'checkpoint', path: c.path,
    size: Object.values(m.files).reduce((a, f) => a + (f.size ?? 0), 0),
    tensors: c.model.names.length + (c.optimizer?.names.length ?? 0),
    sidecar: 'verified',
    hmac: signatureStatus(m.hmac !== undefined, opts.key !== undefined),
    ...(m.key_id !== undefined ? { keyId: m.key_id } : {}),
    signature: signatureStatus(c.signedBy.length > 0, opts.checkSignature !== undefined),
    signedBy: c.signedBy,
    metadata: { step: String(m.step), model_name: m.model.model_name, architecture_type: m.model.architecture_type, format_version: String(c.version) },
    warnings,
  };
}

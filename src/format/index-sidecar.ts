// A sharded model's index sidecar (`….index.json.meta.json`): the index's own SHA-256 and each shard's
// size and SHA-256, optionally HMAC-signed, so that a signed index authenticates every shard through the
// shards' own sidecars. Written by the sharded writer and sign(), checked by the sharded reader.
import { CorruptError, UnsupportedError } from '../errors.js';
import { baseOf } from '../store/keys.js';
import { parseJsonObject, shownJson, signJson, type MacKey } from './signed-json.js';
import type { DocumentSignature } from './signature.js';

export const INDEX_SIDECAR_FORMAT = 'safeckpt.index-sidecar';
export const INDEX_SIDECAR_VERSION = 1;

/** The index's sidecar: the index's own SHA-256 and each shard's size and SHA-256, optionally HMAC-signed. */
export interface IndexSidecar {
  format: typeof INDEX_SIDECAR_FORMAT;
  format_version: number;
  file: string;
  size: number;
  sha256: string;
  /** shard file → its size and SHA-256 (the same values its own sidecar records). */
  shards: Record<string, { size: number; sha256: string }>;
  key_id?: string;
  hmac?: string;
  /** Ed25519 signatures (signature.ts). */
  signatures?: DocumentSignature[];
}

export function makeIndexSidecar(indexKey: string, indexBytesSize: number, sha256: string,
  shards: Record<string, { size: number; sha256: string }>, key?: MacKey, keyId?: string): IndexSidecar {
  const doc: IndexSidecar = {
    format: INDEX_SIDECAR_FORMAT, format_version: INDEX_SIDECAR_VERSION, file: baseOf(indexKey), size: indexBytesSize, sha256, shards,
  };
  return key === undefined ? doc : (signJson(doc as unknown as Record<string, unknown>, key, keyId) as unknown as IndexSidecar);
}

export function parseIndexSidecar(bytes: Uint8Array, path: string): IndexSidecar {
  const d = parseJsonObject(bytes, path);
  const bad = (what: string) => new CorruptError(`${path}: ${what}`, { path, detail: 'BAD_SIDECAR' });
  if (d.format !== INDEX_SIDECAR_FORMAT) throw bad(`"format" is ${shownJson(d.format)}, expected "${INDEX_SIDECAR_FORMAT}"`);
  if (typeof d.format_version !== 'number' || d.format_version > INDEX_SIDECAR_VERSION) {
    throw new UnsupportedError(`${path} has index sidecar format_version ${shownJson(d.format_version)}; this safeckpt reads up to ${INDEX_SIDECAR_VERSION}`, { path, detail: 'SIDECAR_VERSION' });
  }
  if (typeof d.sha256 !== 'string' || typeof d.size !== 'number' || typeof d.shards !== 'object' || d.shards === null) throw bad('missing size, sha256 or shards');
  for (const [f, s] of Object.entries(d.shards as Record<string, { size?: unknown; sha256?: unknown }>)) {
    if (typeof s?.size !== 'number' || typeof s?.sha256 !== 'string') throw bad(`shard '${f}' entry is malformed`);
  }
  return d as unknown as IndexSidecar;
}

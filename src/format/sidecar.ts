// The sidecar `NAME.safetensors.meta.json`: integrity and metadata for one
// weights file (ADR-045, DESIGN.md). It records the file's size and SHA-256,
// the SHA-256 of its header (the first 8 + N bytes) and of every tensor's
// bytes — so a tensor fetched alone over HTTP is verified alone, and a large
// file is verified tensor by tensor in parallel — plus the model metadata.
// An optional HMAC-SHA256 (see signed-json.ts) authenticates all of it.
import { CorruptError, UnsupportedError } from '../errors.js';
import { isDtype, type Dtype } from '../types/dtype.js';
import { parseJsonObject, shownJson, type MacKey, signJson } from './signed-json.js';
import type { DocumentSignature } from './signature.js';

/** The `format` tag of a sidecar (NAME.safetensors.meta.json). */
export const SIDECAR_FORMAT = 'safeckpt.sidecar';
/**
 * Bumped only for changes an older reader would misread; a newer version is refused as UNSUPPORTED.
 * 2 added chunk digests (a tensor entry's `chunks`): a sidecar that carries them is written as version 2,
 * one without them as version 1, which every reader reads.
 */
export const SIDECAR_VERSION = 2;
/** A tensor larger than this gets chunk digests by default: a slice of it fetches whole chunks, not the tensor. */
export const CHUNK_THRESHOLD = 16 << 20;
/** Bytes per chunk: a slice fetches at most two partial chunks more than it needs (2 MiB); 64 hex digits per MiB of tensor. */
export const CHUNK_SIZE = 1 << 20;

/** Chunk digests of one tensor: SHA-256 of each `size` bytes of it (the last chunk may be shorter), in order. */
export interface SidecarChunks {
  size: number;
  sha256: string[];
}
/** What a sidecar's name adds to its file's name. */
export const SIDECAR_SUFFIX = '.meta.json';

/** One tensor as its sidecar records it: dtype, shape, offsets and SHA-256. */
export interface SidecarTensor {
  dtype: Dtype;
  shape: number[];
  data_offsets: [number, number];
  sha256: string;
  /** Version 2: per-chunk digests, so that a slice is verified without the rest of the tensor. */
  chunks?: SidecarChunks;
}

/** A safetensors file's sidecar: its size and SHA-256, its header's SHA-256, every tensor's SHA-256, metadata, optional HMAC. */
export interface Sidecar extends SidecarFacts {
  format: typeof SIDECAR_FORMAT;
  format_version: number;
  key_id?: string;
  hmac?: string;
  /** Ed25519 signatures of the canonical rest (signature.ts); any number, next to or instead of the HMAC. */
  signatures?: DocumentSignature[];
}

/** The sidecar key of a file key (`dir/x.safetensors` → `dir/x.safetensors.meta.json`). */
export function sidecarKeyFor(key: string): string {
  return key + SIDECAR_SUFFIX;
}

/** What a sidecar records about its weights file (everything but the format tag and the MAC). */
export interface SidecarFacts {
  /** Name of the weights file, relative to the sidecar's folder. */
  file: string;
  size: number;
  sha256: string;
  /** SHA-256 of bytes [0, 8 + N): the length prefix and the header JSON with its padding. */
  header_sha256: string;
  tensors: Record<string, SidecarTensor>;
  metadata: Record<string, string> | null;
}

export function makeSidecar(facts: SidecarFacts, key?: MacKey, keyId?: string): Sidecar {
  const chunked = Object.values(facts.tensors).some((t) => t.chunks !== undefined);
  const doc: Sidecar = { format: SIDECAR_FORMAT, format_version: chunked ? 2 : 1, ...facts };
  return key === undefined ? doc : (signJson(doc as unknown as Record<string, unknown>, key, keyId) as unknown as Sidecar);
}

/** The sidecar as written: indented for people (the MAC is over the canonical form, not these bytes). */
export function serializeSidecar(s: Sidecar): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(s, null, 1) + '\n');
}

const HEX64 = /^[0-9a-f]{64}$/;
const isUint = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
/** A dimension: a safe integer, or (zero-element tensors only) the exact decimal string of a larger one (see TensorInfo.shape). */
const isDim = (x: unknown): boolean => isUint(x) || (typeof x === 'string' && /^[1-9]\d{15,19}$/.test(x) && BigInt(x) > BigInt(Number.MAX_SAFE_INTEGER) && BigInt(x) < 1n << 64n);

/** Parses and checks the shape of a sidecar; CORRUPT naming what is wrong, UNSUPPORTED for a newer version. */
export function parseSidecar(bytes: Uint8Array, path: string): Sidecar {
  const d = parseJsonObject(bytes, path);
  const bad = (what: string) => new CorruptError(`${path}: ${what} (the sidecar is damaged; re-create it with \`safeckpt sign\` from a trusted copy)`, {
    path, detail: 'BAD_SIDECAR',
  });
  if (d.format !== SIDECAR_FORMAT) throw bad(`"format" is ${shownJson(d.format)}, expected "${SIDECAR_FORMAT}"`);
  if (!isUint(d.format_version) || d.format_version < 1) throw bad('"format_version" is not a positive integer');
  if (d.format_version > SIDECAR_VERSION) {
    throw new UnsupportedError(`${path} has sidecar format_version ${d.format_version}; this safeckpt reads up to ${SIDECAR_VERSION} (upgrade safeckpt)`, {
      path, detail: 'SIDECAR_VERSION',
    });
  }
  if (typeof d.file !== 'string') throw bad('"file" is not a string');
  if (!isUint(d.size)) throw bad('"size" is not a non-negative integer');
  if (typeof d.sha256 !== 'string' || !HEX64.test(d.sha256)) throw bad('"sha256" is not 64 lowercase hex digits');
  if (typeof d.header_sha256 !== 'string' || !HEX64.test(d.header_sha256)) throw bad('"header_sha256" is not 64 lowercase hex digits');
  if (typeof d.tensors !== 'object' || d.tensors === null || Array.isArray(d.tensors)) throw bad('"tensors" is not an object');
  for (const [name, t] of Object.entries(d.tensors as Record<string, unknown>)) {
    const e = t as Partial<SidecarTensor> | null;
    if (!e || typeof e !== 'object' || typeof e.dtype !== 'string' || !isDtype(e.dtype) || !Array.isArray(e.shape) || !e.shape.every(isDim) ||
      !Array.isArray(e.data_offsets) || e.data_offsets.length !== 2 || !e.data_offsets.every(isUint) || typeof e.sha256 !== 'string' || !HEX64.test(e.sha256)) {
      throw bad(`the entry of tensor '${name}' is malformed`);
    }
    if (e.chunks !== undefined) {
      const c = e.chunks as Partial<SidecarChunks> | null;
      const bytes = e.data_offsets[1] - e.data_offsets[0];
      if (d.format_version < 2 || !c || typeof c !== 'object' || !isUint(c.size) || c.size === 0 || !Array.isArray(c.sha256) ||
        c.sha256.length !== Math.ceil(bytes / c.size) || !c.sha256.every((h) => typeof h === 'string' && HEX64.test(h))) {
        throw bad(`the chunk digests of tensor '${name}' are malformed (expected ${c && isUint(c.size) && c.size > 0 ? Math.ceil(bytes / c.size) : 'one per chunk of'} 64-hex-digit SHA-256 values${d.format_version < 2 ? ', and format_version 2' : ''})`);
      }
    }
  }
  if (d.metadata !== null && (typeof d.metadata !== 'object' || Array.isArray(d.metadata) || !Object.values(d.metadata as object).every((v) => typeof v === 'string'))) {
    throw bad('"metadata" is neither null nor an object of strings');
  }
  if (d.key_id !== undefined && typeof d.key_id !== 'string') throw bad('"key_id" is not a string');
  if (d.hmac !== undefined && typeof d.hmac !== 'string') throw bad('"hmac" is not a string');
  return d as unknown as Sidecar;
}

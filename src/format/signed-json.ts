// The one canonical serialisation safeckpt authenticates (sidecars, checkpoint
// manifests): UTF-8 JSON, no whitespace, object keys sorted by code point
// (= UTF-8 byte order), members in that order at every level, integers only.
// It equals Python's json.dumps(doc, sort_keys=True, separators=(',', ':'),
// ensure_ascii=False) for these documents, so anyone can recompute a MAC.
// The MAC is HMAC-SHA256 over the canonical form of the document without its
// `hmac` member (`key_id`, when present, is covered).
import { AuthError, CorruptError } from '../errors.js';
import { createHmacSha256, constantTimeEqual, toBytes, toHex, type Bytes } from '../core/hash.js';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** An HMAC key: raw bytes, or a string taken as its UTF-8 bytes. */
export type MacKey = Bytes | string;

const encoder = new TextEncoder();

/**
 * Orders strings by their UTF-8 bytes (= code point order), as Python and Rust sort keys. UTF-16 order,
 * JavaScript's default, differs from it around surrogates. The canonical JSON and the safetensors writer
 * both sort with this one comparison.
 */
export function byCodePoint(a: string, b: string): number {
  if (a === b) return 0;
  const x = encoder.encode(a), y = encoder.encode(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

/** The canonical text of a JSON value. Non-integer numbers are refused: their text is not canonical across languages. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new TypeError(`canonicalJson: ${value} is not a safe integer (only integers have one canonical form)`);
    return String(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const keys = Object.keys(value).filter((k) => (value as Record<string, unknown>)[k] !== undefined).sort(byCodePoint);
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  throw new TypeError(`canonicalJson: cannot serialise a ${typeof value}`);
}

function macOf(doc: Record<string, unknown>, key: MacKey): Uint8Array {
  const { hmac: _drop, ...rest } = doc;
  return createHmacSha256(toBytes(key)).update(encoder.encode(canonicalJson(rest))).digest();
}

/** `doc` with `key_id` (when given) and `hmac` set: HMAC-SHA256 under `key` of the canonical rest. */
export function signJson<T extends Record<string, unknown>>(doc: T, key: MacKey, keyId?: string): T & { hmac: string; key_id?: string } {
  const { hmac: _old, key_id: _oldId, ...rest } = doc;
  const body: Record<string, unknown> = keyId === undefined ? rest : { ...rest, key_id: keyId };
  return { ...body, hmac: toHex(macOf(body, key)) } as T & { hmac: string; key_id?: string };
}

function fromHex(h: string): Uint8Array | null {
  if (!/^[0-9a-f]{64}$/.test(h)) return null;
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Throws AUTH unless `doc.hmac` is the MAC of the rest of `doc` under `key` (constant-time comparison). */
export function checkJsonMac(doc: Record<string, unknown>, key: MacKey, path: string): void {
  const keyId = typeof doc.key_id === 'string' ? ` (signed with key_id '${doc.key_id}')` : '';
  if (doc.hmac === undefined) {
    throw new AuthError(`${path} has no hmac, but a key was given: it was never signed (sign it with \`safeckpt sign\`) or its signature was stripped`, {
      path, detail: 'HMAC_MISSING',
    });
  }
  const want = typeof doc.hmac === 'string' ? fromHex(doc.hmac) : null;
  if (!want) throw new AuthError(`${path}: hmac is not 64 lowercase hex digits`, { path, detail: 'HMAC_MALFORMED' });
  if (!constantTimeEqual(macOf(doc, key), want)) {
    throw new AuthError(`${path}: HMAC does not match${keyId}: the key is wrong or the file was altered after signing`, {
      path, detail: 'HMAC_MISMATCH',
    });
  }
}

/** Parses a JSON document that must be an object, as CORRUPT naming the file otherwise. */
export function parseJsonObject(bytes: Uint8Array, path: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw new CorruptError(`${path} is not valid UTF-8 JSON: ${(e as Error).message}`, { path, detail: 'BAD_JSON', cause: e });
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new CorruptError(`${path} must hold a JSON object`, { path, detail: 'BAD_JSON' });
  }
  return v as Record<string, unknown>;
}

/** What a report says about a signature: checked with the key given, present but not checked, or absent. */
export type SignatureStatus = 'verified' | 'not-checked' | 'unsigned';

/**
 * The one rule every report (verify, openTensors, checkpoints, sharded models) uses, applied after the
 * checks passed: `signed` — every document that must carry a MAC carries one; `keyGiven` — they were
 * checked with it (a missing or wrong MAC with a key given has already thrown AUTH).
 */
export function signatureStatus(signed: boolean, keyGiven: boolean): SignatureStatus {
  return !signed ? 'unsigned' : keyGiven ? 'verified' : 'not-checked';
}

// The one canonical serialisation safeckpt authenticates (sidecars, checkpoint
// manifests): UTF-8 JSON, no whitespace, object keys sorted by code point
// (= UTF-8 byte order), members in that order at every level, integers only.
// It equals Python's json.dumps(doc, sort_keys=True, separators=(',', ':'),
// ensure_ascii=False) for these documents, so anyone can recompute a MAC.
// The MAC is HMAC-SHA256 over the canonical form of the document without its
// `hmac` and `signatures` members (`key_id`, when present, is covered): Ed25519
// signatures (signature.ts) may be added after the MAC without breaking it.
import { AuthError, CheckpointError, CorruptError, UnsupportedError } from '../errors.js';
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

/**
 * The canonical text of a JSON value. Numbers must be safe integers: a float (`0.001`, `1.5`) or an
 * integer past 2^53 (`2^60`, which JSON.parse has already rounded) has no one text form across languages,
 * so it is refused as UNSUPPORTED (detail NON_CANONICAL_NUMBER) naming where it is. safeckpt never signs
 * such a number (metadata.ts stores non-integers as decimal strings), so a verifier meeting one reports AUTH.
 */
export function canonicalJson(value: unknown): string {
  return canonical(value, '', 0);
}

/** Nesting safeckpt's documents never approach (they nest < 10); deeper is refused before the stack is. */
export const MAX_CANONICAL_DEPTH = 256;

/** A member path for a message: bounded, since a hostile document chooses its keys. */
const shown = (at: string) => (at === '' ? '<root>' : at.length > 120 ? at.slice(0, 120) + '…' : at);

function canonical(value: unknown, at: string, depth: number): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) {
      throw new UnsupportedError(`the number ${value} at ${shown(at)} has no canonical form (only integers up to 2^53 do; store other numbers as strings)`, {
        detail: 'NON_CANONICAL_NUMBER', data: { at: shown(at) },
      });
    }
    return String(value);
  }
  if (typeof value === 'object' && depth >= MAX_CANONICAL_DEPTH) {
    throw new UnsupportedError(`the value at ${shown(at)} nests deeper than ${MAX_CANONICAL_DEPTH} levels (no signed document does)`, {
      detail: 'NON_CANONICAL_VALUE', data: { at: shown(at) },
    });
  }
  if (Array.isArray(value)) return `[${value.map((x, i) => canonical(x, `${at}[${i}]`, depth + 1)).join(',')}]`;
  if (typeof value === 'object') {
    const keys = Object.keys(value).filter((k) => (value as Record<string, unknown>)[k] !== undefined).sort(byCodePoint);
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k], at ? `${at}.${k}` : k, depth + 1)}`).join(',')}}`;
  }
  throw new UnsupportedError(`a ${typeof value} at ${shown(at)} cannot be serialised as JSON`, { detail: 'NON_CANONICAL_VALUE', data: { at: shown(at) } });
}

function macOf(doc: Record<string, unknown>, key: MacKey): Uint8Array {
  const { hmac: _drop, signatures: _sigs, ...rest } = doc;
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
  let mac: Uint8Array;
  try {
    mac = macOf(doc, key);
  } catch (e) {
    if (!(e instanceof CheckpointError) || !e.detail?.startsWith('NON_CANONICAL')) throw e;
    // safeckpt never signs such a document: whatever the MAC says, this is not what was signed.
    throw new AuthError(`${path} cannot be authenticated: ${e.message}. safeckpt never signs such a value, so the file was altered after signing (or signed by another tool)`, {
      path, detail: 'NON_CANONICAL', cause: e,
    });
  }
  if (!constantTimeEqual(mac, want)) {
    throw new AuthError(`${path}: HMAC does not match${keyId}: the key is wrong or the file was altered after signing`, {
      path, detail: 'HMAC_MISMATCH',
    });
  }
}

/**
 * Parses a JSON document as CORRUPT naming the file when it is not one. The message never quotes the
 * file (JSON.parse's own messages do: a symlink to a secret would be echoed), only where it broke.
 */
export function parseJson(bytes: Uint8Array, path: string): unknown {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new CorruptError(`${path} is not valid UTF-8 (${bytes.length} bytes), so not a JSON document`, { path, detail: 'BAD_JSON' });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    const pos = /position (\d+)/.exec(String((e as Error)?.message))?.[1];
    throw new CorruptError(`${path} is not valid JSON${pos === undefined ? '' : ` (syntax error at character ${pos})`}; ${text.length} characters`, { path, detail: 'BAD_JSON' });
  }
}

/**
 * A value from a parsed document, for a message: bounded and never recursive — a hostile member may be a
 * 64 MiB string or an array nested thousands deep (whose String() or JSON.stringify() overflows the stack).
 */
export function shownJson(v: unknown): string {
  if (v === null || v === undefined || typeof v === 'boolean' || typeof v === 'number') return String(v);
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? v.slice(0, 60) + '…' : v);
  if (Array.isArray(v)) return `an array of ${v.length}`;
  return typeof v === 'object' ? 'an object' : typeof v;
}

/** Parses a JSON document that must be an object, as CORRUPT naming the file otherwise (see parseJson). */
export function parseJsonObject(bytes: Uint8Array, path: string): Record<string, unknown> {
  const v = parseJson(bytes, path);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new CorruptError(`${path} must hold a JSON object, not ${v === null ? 'null' : Array.isArray(v) ? 'an array' : `a ${typeof v}`}`, { path, detail: 'BAD_JSON' });
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

/** Checks a document's Ed25519 signature (AUTH unless it carries a valid one): made by verify() from the public key given, handed down to readers. */
export type SignatureCheck = (doc: Record<string, unknown> | null, path: string) => Promise<void>;

/** The DSSE payloadType of every safeckpt Ed25519 signature (signature.ts; the document's own `format` says which kind it is). */
export const SIGNATURE_PAYLOAD_TYPE = 'application/vnd.safeckpt.signed+json';

/**
 * The keyids a document's Ed25519 signatures name (for reports), or [] when it has none or they are
 * malformed. Here rather than in signature.ts, which loads only when a key is given.
 */
export function signatureKeyids(doc: Record<string, unknown>): string[] {
  return Array.isArray(doc.signatures) ? (doc.signatures as Array<{ keyid?: unknown } | null>).map((s) => s?.keyid).filter((k): k is string => typeof k === 'string') : [];
}

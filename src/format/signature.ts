// Ed25519 signatures over safeckpt's signed documents (sidecars, index
// sidecars, checkpoint manifests), through WebCrypto only: Node ≥ 20, Deno,
// Bun, Chromium and workerd all implement Ed25519 there, so no crypto code of
// our own is shipped. docs/signatures.md is the specification; in short:
//
//   body     = canonicalJson(document without `hmac`, `key_id`, `signatures`)  (signed-json.ts)
//   message  = DSSE PAE: "DSSEv1 " + len(type) + " " + type + " " + len(body) + " " + body
//              with type = SIGNATURE_PAYLOAD_TYPE and lengths as decimal byte counts
//   document.signatures = [{ keyid: hex SHA-256 of the public key's SPKI DER, sig: base64 Ed25519(message) }, …]
//
// The PAE is DSSE's (the envelope sigstore and in-toto use), so a signature here is a DSSE signature
// of the body, and any DSSE verifier (or `openssl pkeyutl -verify -rawin`) checks it from the
// documented bytes. Leaving `hmac` and `key_id` out of the body, and `signatures` out of the HMAC's,
// lets several signatures and one HMAC be added in any order without breaking one another.
//
// This module loads only when a key is given (a dynamic import): it imports nothing but the errors (and
// takes canonicalJson from its caller), so a bundler splits no shared code out of a read + verify page for it.
// Loaded only by dynamic import. The entry, imported for no bindings, keeps a page's start code in one
// chunk when a bundler splits code (the lazy-module hint: scripts/check-imports.js).
import '../index.js';
import { AuthError, CheckpointError, UnsupportedError } from '../errors.js';

/** signed-json.ts's canonicalJson, handed in by the caller (see above). */
export type Canonical = (value: unknown) => string;

/** The DSSE payloadType of every safeckpt signature (also exported as SIGNATURE_PAYLOAD_TYPE by signed-json.ts). */
const PAYLOAD_TYPE = 'application/vnd.safeckpt.signed+json';
const encoder = new TextEncoder();

/** The canonical bytes a signature covers: the document without `hmac`, `key_id` and `signatures`. */
export function signedBody(doc: Record<string, unknown>, canonical: Canonical): Uint8Array {
  const { hmac: _h, key_id: _k, signatures: _s, ...body } = doc;
  return encoder.encode(canonical(body));
}

/**
 * The message Ed25519 signs for `doc`: DSSE's pre-authentication encoding of its signed body —
 * "DSSEv1 " + len(type) + " " + type + " " + len(body) + " " + body, lengths in bytes.
 */
export function signedMessage(doc: Record<string, unknown>, canonical: Canonical): Uint8Array {
  const body = signedBody(doc, canonical);
  const prefix = encoder.encode(`DSSEv1 ${PAYLOAD_TYPE.length} ${PAYLOAD_TYPE} ${body.length} `);
  const out = new Uint8Array(prefix.length + body.length);
  out.set(prefix);
  out.set(body, prefix.length);
  return out;
}


/** One signature as stored in a document's `signatures` array: a DSSE signature object. */
export interface DocumentSignature {
  /** Lowercase hex SHA-256 of the signer's public key as SPKI DER (`openssl pkey -pubin -outform DER | sha256sum`). */
  keyid: string;
  /** Base64 (standard alphabet, padded) of the 64-byte Ed25519 signature of the PAE message. */
  sig: string;
}

/**
 * An Ed25519 private key: a CryptoKey (extractable, or a CryptoKeyPair when it is not, since the public
 * key is needed to name the signature), a PEM `PRIVATE KEY` (PKCS#8, as `openssl genpkey -algorithm
 * ed25519` writes it) as text or bytes, PKCS#8 DER bytes, or a JWK (object or JSON text) with `d` and `x`.
 */
export type PrivateKeyInput = CryptoKey | CryptoKeyPair | string | Uint8Array | JsonWebKey;
/** An Ed25519 public key: a CryptoKey, a PEM `PUBLIC KEY` (SPKI) as text or bytes, SPKI DER bytes, or a JWK with `x`. */
export type PublicKeyInput = CryptoKey | string | Uint8Array | JsonWebKey;

const ED25519 = { name: 'Ed25519' } as const;
const hex = (b: ArrayBuffer) => Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, '0')).join('');

function subtle(): SubtleCrypto {
  const s = globalThis.crypto?.subtle;
  if (!s) throw new UnsupportedError('Ed25519 signatures need WebCrypto (crypto.subtle), which this runtime lacks', { detail: 'NO_WEBCRYPTO' });
  return s;
}

const badKey = (what: string, cause?: unknown) =>
  new UnsupportedError(`${what} (expected an Ed25519 key: a CryptoKey, PEM as \`openssl genpkey -algorithm ed25519\` / \`openssl pkey -pubout\` write it, or a JWK with crv "Ed25519")`, {
    detail: 'BAD_KEY', cause,
  });

/** Bytes → standard base64 (padded). */
export function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** Standard base64 → bytes, or null when it is not canonical padded base64. */
export function fromBase64(text: string): Uint8Array | null {
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)) return null;
  const s = atob(text);
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

/** The DER inside a PEM block labelled `label`, or null when the text holds no such block. */
function pemBody(text: string, label: string): Uint8Array | null {
  const m = new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`).exec(text);
  if (!m) return null;
  const der = fromBase64(m[1].replace(/\s+/g, ''));
  if (!der) throw badKey(`the PEM ${label} block is not valid base64`);
  return der;
}

type Parsed = { der: Uint8Array } | { jwk: JsonWebKey } | { key: CryptoKey } | { pair: CryptoKeyPair };

function isCryptoKey(k: unknown): k is CryptoKey {
  return typeof CryptoKey !== 'undefined' ? k instanceof CryptoKey : typeof (k as CryptoKey)?.algorithm === 'object' && typeof (k as CryptoKey)?.type === 'string';
}

/** Text, bytes, JWK or key objects → one of the forms WebCrypto imports. */
function parseKeyInput(k: unknown, which: 'private' | 'public'): Parsed {
  if (isCryptoKey(k)) return { key: k };
  if (k && typeof k === 'object' && isCryptoKey((k as CryptoKeyPair).privateKey) && isCryptoKey((k as CryptoKeyPair).publicKey)) {
    return which === 'private' ? { pair: k as CryptoKeyPair } : { key: (k as CryptoKeyPair).publicKey };
  }
  if (k instanceof Uint8Array) {
    const head = new TextDecoder().decode(k.subarray(0, 64)).trimStart();
    if (!head.startsWith('-----') && !head.startsWith('{')) return { der: k };
    return parseKeyInput(new TextDecoder().decode(k), which);
  }
  if (typeof k === 'string') {
    const t = k.trim();
    if (t.startsWith('{')) {
      try {
        return parseKeyInput(JSON.parse(t), which);
      } catch (e) {
        if (e instanceof CheckpointError) throw e;
        throw badKey('the key text starts like JSON but is not valid JSON', e);
      }
    }
    if (/-----BEGIN (ENCRYPTED PRIVATE KEY|OPENSSH PRIVATE KEY|EC PRIVATE KEY|RSA PRIVATE KEY)-----/.test(t)) {
      const kind = /BEGIN ([A-Z ]+)-----/.exec(t)![1];
      throw badKey(`a PEM "${kind}" is not an unencrypted PKCS#8 Ed25519 key${kind.startsWith('ENCRYPTED') ? ': decrypt it first (openssl pkey -in KEY -out PLAIN)' : ''}`);
    }
    const label = which === 'private' ? 'PRIVATE KEY' : 'PUBLIC KEY';
    const der = pemBody(t, label);
    if (der) return { der };
    if (which === 'public' && pemBody(t, 'PRIVATE KEY')) throw badKey('a private key was given where the public key belongs (verifying needs no secret: `openssl pkey -in KEY -pubout`)');
    throw badKey(`no PEM "${label}" block in the key text`);
  }
  if (k && typeof k === 'object' && typeof (k as JsonWebKey).kty === 'string') return { jwk: k as JsonWebKey };
  throw badKey(`a ${k === null ? 'null' : typeof k} is not a key`);
}

async function importAs(p: { der: Uint8Array } | { jwk: JsonWebKey }, which: 'private' | 'public'): Promise<CryptoKey> {
  try {
    if ('jwk' in p) {
      const { kty, crv, x, d } = p.jwk;
      if (kty !== 'OKP' || crv !== 'Ed25519') throw badKey(`a JWK with kty ${JSON.stringify(kty)} and crv ${JSON.stringify(crv)} is not an Ed25519 key`);
      if (which === 'private' && typeof d !== 'string') throw badKey('the JWK has no "d": it is a public key, and signing needs the private one');
      const jwk = which === 'private' ? { kty, crv, x, d } : { kty, crv, x };
      return await subtle().importKey('jwk', jwk, ED25519, true, [which === 'private' ? 'sign' : 'verify']);
    }
    return await subtle().importKey(which === 'private' ? 'pkcs8' : 'spki', p.der as Uint8Array<ArrayBuffer>, ED25519, true, [which === 'private' ? 'sign' : 'verify']);
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    throw badKey(`the ${which} key could not be imported as Ed25519 (${(e as Error)?.message ?? e})`, e);
  }
}

function checkAlgorithm(k: CryptoKey, which: 'private' | 'public'): void {
  if (k.algorithm?.name !== 'Ed25519') throw badKey(`the CryptoKey is ${k.algorithm?.name ?? 'of an unknown algorithm'}, not Ed25519`);
  if (k.type !== which) throw badKey(`the CryptoKey is a ${k.type} key where a ${which} key belongs`);
}

/** Lowercase hex SHA-256 of a public key's SPKI DER: how a signature names its key. */
export async function keyFingerprint(publicKey: CryptoKey): Promise<string> {
  return hex(await subtle().digest('SHA-256', await subtle().exportKey('spki', publicKey)));
}

/** A private key ready to sign, with its public half's fingerprint. */
export interface Signer {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  keyid: string;
}

/** Imports a private key (see PrivateKeyInput) and finds its public key: from the JWK's `x`, which WebCrypto exports for any extractable Ed25519 private key. */
export async function importPrivateKey(input: PrivateKeyInput): Promise<Signer> {
  const p = parseKeyInput(input, 'private');
  let privateKey: CryptoKey, publicKey: CryptoKey;
  if ('pair' in p) {
    checkAlgorithm(p.pair.privateKey, 'private');
    checkAlgorithm(p.pair.publicKey, 'public');
    ({ privateKey, publicKey } = p.pair);
  } else {
    privateKey = 'key' in p ? p.key : await importAs(p, 'private');
    checkAlgorithm(privateKey, 'private');
    if (!privateKey.extractable) {
      throw badKey('the private CryptoKey is not extractable, so its public key (which names the signature) cannot be derived: pass the CryptoKeyPair');
    }
    const { x } = await subtle().exportKey('jwk', privateKey);
    if (typeof x !== 'string') throw badKey('WebCrypto did not export the public part ("x") of the private key');
    publicKey = await subtle().importKey('jwk', { kty: 'OKP', crv: 'Ed25519', x }, ED25519, true, ['verify']);
  }
  return { privateKey, publicKey, keyid: await keyFingerprint(publicKey) };
}

/** A public key ready to verify, with its fingerprint. */
export interface SignatureVerifier {
  publicKey: CryptoKey;
  keyid: string;
}

/** Imports a public key (see PublicKeyInput). */
export async function importPublicKey(input: PublicKeyInput): Promise<SignatureVerifier> {
  const p = parseKeyInput(input, 'public');
  const publicKey = 'key' in p ? p.key : 'pair' in p ? p.pair.publicKey : await importAs(p, 'public');
  checkAlgorithm(publicKey, 'public');
  // A non-extractable public key cannot be exported to fingerprint it; re-import its raw bytes when allowed.
  return { publicKey, keyid: await keyFingerprint(publicKey).catch((e) => { throw badKey('the public CryptoKey cannot be exported to compute its fingerprint (create it extractable)', e); }) };
}

/** `doc` with a signature by `signer` added (replacing an older one by the same key); other signatures, `hmac` and `key_id` are kept. */
export async function addSignature<T extends Record<string, unknown>>(doc: T, signer: Signer, canonical: Canonical): Promise<T & { signatures: DocumentSignature[] }> {
  const message = signedMessage(doc, canonical);
  const sig = toBase64(new Uint8Array(await subtle().sign(ED25519, signer.privateKey, message as Uint8Array<ArrayBuffer>)));
  const others = Array.isArray(doc.signatures) ? (doc.signatures as DocumentSignature[]).filter((s) => s?.keyid !== signer.keyid) : [];
  return { ...doc, signatures: [...others, { keyid: signer.keyid, sig }] };
}

/**
 * Throws AUTH unless `doc` carries a valid signature by `key`: SIGNATURE_MISSING (no signatures at all),
 * SIGNATURE_WRONG_KEY (signed, but by other keys: names them), SIGNATURE_MALFORMED, SIGNATURE_MISMATCH
 * (this key's signature does not match the document: it was altered after signing).
 */
export async function checkSignature(doc: Record<string, unknown> | null, key: SignatureVerifier, path: string,
  canonical: Canonical): Promise<void> {
  if (doc === null) {
    throw new AuthError(`${path} does not exist, so nothing carries an Ed25519 signature, but a public key (${key.keyid.slice(0, 16)}…) was given: it is not authenticated (sign it with \`safeckpt sign --private-key\`)`, {
      path, detail: 'SIGNATURE_MISSING', data: { expected: key.keyid, found: [] },
    });
  }
  const sigs = doc.signatures;
  if (sigs === undefined || (Array.isArray(sigs) && sigs.length === 0)) {
    throw new AuthError(`${path} carries no Ed25519 signature, but a public key (${key.keyid.slice(0, 16)}…) was given: it was never signed (\`safeckpt sign --private-key\`) or its signatures were stripped`, {
      path, detail: 'SIGNATURE_MISSING', data: { expected: key.keyid, found: [] },
    });
  }
  const malformed = (what: string) => new AuthError(`${path}: ${what}, so it cannot be checked (the document was damaged or altered)`, { path, detail: 'SIGNATURE_MALFORMED' });
  if (!Array.isArray(sigs)) throw malformed('"signatures" is not an array');
  const ids = (sigs as Partial<DocumentSignature>[]).map((s) => s?.keyid).filter((k): k is string => typeof k === 'string');
  const mine = (sigs as Partial<DocumentSignature>[]).filter((s) => s?.keyid === key.keyid);
  if (mine.length === 0) {
    throw new AuthError(`${path} is signed by ${ids.length === 1 ? 'key' : 'keys'} ${ids.map((i) => i.slice(0, 16) + '…').join(', ') || '(none named)'}, not by the public key given (${key.keyid.slice(0, 16)}…): wrong key, or not signed by whom you expect`, {
      path, detail: 'SIGNATURE_WRONG_KEY', data: { expected: key.keyid, found: ids },
    });
  }
  let message: Uint8Array;
  try {
    message = signedMessage(doc, canonical);
  } catch (e) {
    if (!(e instanceof CheckpointError) || !e.detail?.startsWith('NON_CANONICAL')) throw e;
    throw new AuthError(`${path} cannot be authenticated: ${e.message}. safeckpt never signs such a value, so the document was altered after signing`, { path, detail: 'NON_CANONICAL', cause: e });
  }
  for (const s of mine) {
    const sig = typeof s.sig === 'string' ? fromBase64(s.sig) : null;
    if (!sig || sig.length !== 64) throw malformed(`the signature by ${key.keyid.slice(0, 16)}… is not 64 bytes of base64`);
    if (await subtle().verify(ED25519, key.publicKey, sig as Uint8Array<ArrayBuffer>, message as Uint8Array<ArrayBuffer>)) return;
  }
  throw new AuthError(`${path}: the Ed25519 signature by key ${key.keyid.slice(0, 16)}… does not match the document: it was altered after signing`, {
    path, detail: 'SIGNATURE_MISMATCH', data: { expected: key.keyid },
  });
}

/** A fresh Ed25519 key pair as PEM text (PKCS#8 and SPKI, the forms openssl reads and writes) and its fingerprint. */
export async function generateSigningKey(): Promise<{ privateKeyPem: string; publicKeyPem: string; keyid: string }> {
  const pair = (await subtle().generateKey(ED25519, true, ['sign', 'verify'])) as CryptoKeyPair;
  const pem = (label: string, der: ArrayBuffer) => `-----BEGIN ${label}-----\n${toBase64(new Uint8Array(der)).replace(/.{64}/g, '$&\n').replace(/\n$/, '')}\n-----END ${label}-----\n`;
  return {
    privateKeyPem: pem('PRIVATE KEY', await subtle().exportKey('pkcs8', pair.privateKey)),
    publicKeyPem: pem('PUBLIC KEY', await subtle().exportKey('spki', pair.publicKey)),
    keyid: await keyFingerprint(pair.publicKey),
  };
}

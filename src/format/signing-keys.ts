// The public entry's key helpers, loading the Ed25519 code (signature.ts) on first use: a page that
// imports safeckpt for reading and verifying does not ship it at start.
import { canonicalJson, type SignatureCheck } from './signed-json.js';
import type { PublicKeyInput } from './signature.js';

/** A fresh Ed25519 key pair as PEM (PKCS#8 private, SPKI public: the forms openssl writes) and its fingerprint (keyid). */
export async function generateSigningKey(): Promise<{ privateKeyPem: string; publicKeyPem: string; keyid: string }> {
  return (await import('./signature.js')).generateSigningKey();
}

/** The keyid of an Ed25519 public CryptoKey: lowercase hex SHA-256 of its SPKI DER, as signatures name their key. */
export async function keyFingerprint(publicKey: CryptoKey): Promise<string> {
  return (await import('./signature.js')).keyFingerprint(publicKey);
}

/**
 * The check every signed document of an operation must pass for this public key (AUTH otherwise): the key is
 * imported once, at the start, so a bad key is UNSUPPORTED BAD_KEY before any byte is read. One helper for
 * verify, readSafetensors, openTensors, loadCheckpoint and resumeTraining.
 */
export async function publicKeyCheck(publicKey: PublicKeyInput): Promise<SignatureCheck> {
  const m = await import('./signature.js');
  const key = await m.importPublicKey(publicKey);
  return (doc, path) => m.checkSignature(doc, key, path, canonicalJson);
}

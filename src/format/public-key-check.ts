// The signature check for a public key that readers and verify() take as an option, loading the Ed25519
// code (signature.ts) on first use.
import { canonicalJson, type SignatureCheck } from './signed-json.js';
import type { PublicKeyInput } from './signature.js';

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

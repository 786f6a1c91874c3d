// The public entry's key helpers, loading the Ed25519 code (signature.ts) on first use: a page that
// imports safeckpt for reading and verifying does not ship it at start. The check of a public key that
// reading and verifying use is in public-key-check.ts: a file the entry re-exports from ships at start
// with all the code any lazily loaded module uses of it (bench/size.bench.js).

/** A fresh Ed25519 key pair as PEM (PKCS#8 private, SPKI public: the forms openssl writes) and its fingerprint (keyid). */
export async function generateSigningKey(): Promise<{ privateKeyPem: string; publicKeyPem: string; keyid: string }> {
  return (await import('./signature.js')).generateSigningKey();
}

/** The keyid of an Ed25519 public CryptoKey: lowercase hex SHA-256 of its SPKI DER, as signatures name their key. */
export async function keyFingerprint(publicKey: CryptoKey): Promise<string> {
  return (await import('./signature.js')).keyFingerprint(publicKey);
}

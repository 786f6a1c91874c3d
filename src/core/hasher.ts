// The one streaming shape every SHA-256 engine has (after hash-wasm's
// init / update / digest), and the misuse errors they share.

export interface Hasher {
  update(data: Uint8Array): Hasher;
  /** The 32-byte digest. The hasher cannot be used afterwards. */
  digest(): Uint8Array;
}

export interface HashEngine {
  /** 'core', 'hash-wasm' or 'node:crypto'. */
  readonly name: string;
  createSha256(): Hasher;
}

/** Thrown for update()/digest() after digest(), whichever engine computes the hash. */
export function usedAfterDigest(op: 'update' | 'digest' | 'save'): TypeError {
  return new TypeError(`sha256: ${op}() after digest(): create a new hasher for new data`);
}

// The one streaming shape every SHA-256 engine has (after hash-wasm's
// init / update / digest), and the misuse errors they share.

/** A streaming hash: `update()` any number of times, then `digest()` once. Text is hashed as its UTF-8 bytes. */
export interface Hasher {
  update(data: Uint8Array | string): Hasher;
  /** The 32-byte digest. The hasher cannot be used afterwards. */
  digest(): Uint8Array;
}

/** A SHA-256 implementation: a name and a way to start a streaming hasher. */
export interface HashEngine {
  /** 'core', 'hash-wasm' or 'node:crypto'. */
  readonly name: string;
  createSha256(): Hasher;
}

/** Thrown for update()/digest() after digest(), whichever engine computes the hash. */
export function usedAfterDigest(op: 'update' | 'digest' | 'save'): TypeError {
  return new TypeError(`sha256: ${op}() after digest(): create a new hasher for new data`);
}

const encoder = new TextEncoder();
/** `data` as bytes: text as UTF-8 (what every form — one-shot, async, streaming — hashes for a string). */
export function toBytes(data: Uint8Array | string): Uint8Array {
  return typeof data === 'string' ? encoder.encode(data) : data;
}

// hash-wasm's per-algorithm UMD bundle has no type declarations of its own.
// Imported as ESM it is a CommonJS module: the functions may be on `default`.
declare module 'hash-wasm/dist/sha256.umd.min.js' {
  import type { IHasher } from 'hash-wasm';
  export const createSHA256: (() => Promise<IHasher>) | undefined;
  const cjs: { createSHA256?: () => Promise<IHasher> } | undefined;
  export default cjs;
}

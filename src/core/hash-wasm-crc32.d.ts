// hash-wasm's CRC-32 bundle (loaded on demand by crc32.ts): only what is used.
declare module 'hash-wasm/dist/crc32.umd.min.js' {
  export function createCRC32(): Promise<{ init(): unknown; update(d: Uint8Array): unknown; digest(f: 'binary'): Uint8Array }>;
}

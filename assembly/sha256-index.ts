// The core's SHA-256, a module of its own (build/sha256.wasm): a page ships the
// header parser at start and loads this when it hashes (src/core/sha256-wasm.ts).
export { reserve } from './memory';
export { sha256State, sha256Digest, sha256Update, sha256Final } from './sha256';

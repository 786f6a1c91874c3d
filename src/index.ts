// safeckpt — safe, portable ML training checkpoints.
export * from './errors.js';
export {
  sha256, createSha256, hmacSha256, createHmacSha256, toHex, constantTimeEqual,
  hashEngine, setHashEngine, coreEngine,
} from './core/hash.js';
export type { Hasher, HashEngine } from './core/hash.js';

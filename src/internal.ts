// The internal entry (dist/internal.js): the public entry plus what the tests, benchmarks and tools of
// this repository reach that users do not call — tuning constants, key helpers, engine pinning, the
// detector. Not in package.json's exports: nothing here is a promise to users.
export * from './index.js';
export { errorFor } from './errors.js';
export { constantTimeEqual } from './core/hash.js';
export { hashEngine, setHashEngine, availableHashEngines, WEBCRYPTO_MIN_BYTES } from './core/hash-engines.js';
export { SHA256_STATE_BYTES } from './core/sha256-core.js';
export { sha256InitialState, sha256UpdateJs, sha256FinalJs, SHA256_K } from './core/sha256-js.js';
export { sha256Wasm, loadSha256Module } from './core/sha256-wasm.js';
export { loggerFrom } from './log/logger.js';
export { IDB_CHUNK } from './store/idb.js';
export { S3Backend } from './store/s3-backend.js';
export { FsBackend } from './store/fs-backend.js';
export { inflateRaw, InflateError } from './core/inflate.js';
export { writeAtomic, isTempKey } from './store/atomic.js';
export { removeAbandoned, ABANDONED_AFTER_MS } from './checkpoint/abandoned.js';
export { dirOf, baseOf, joinKey } from './store/keys.js';
export { layout as safetensorsLayout, WRITE_CHUNK } from './format/safetensors-write.js';
export { DEFAULT_MODEL_KEY } from './format/sharded.js';
export { READ_SEGMENT, COALESCE_GAP, REMOTE_VERIFIED_SEGMENT, REMOTE_REQUESTS_IN_FLIGHT } from './format/safetensors-read.js';
export { AUTO_WORKERS_FROM, MAX_WORKERS, freshReads } from './parallel/lease.js';
export { scanTensors, REQUEST_SEGMENT, REQUESTS_IN_FLIGHT } from './sources/verify.js';
export { hashRanges, hashSegments } from './parallel/range-hash.js';
export { detectSource } from './sources/detect.js';
export type { DetectedSource, SourceKind } from './sources/detect.js';
export { inspectSource } from './sources/inspect.js';

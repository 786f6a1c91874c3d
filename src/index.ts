// safeckpt — safe, portable ML training checkpoints.
export {
  CheckpointError, NotFoundError, CorruptError, IntegrityError, AuthError, CompatibilityError, UnsafePickleError, UnsupportedError, IoError,
  ERROR_CODES, isCheckpointError,
} from './errors.js';
export type { ErrorCode, CheckpointErrorOptions } from './errors.js';
export {
  sha256, createSha256, sha256Async, hmacSha256, createHmacSha256, hmacSha256Async, toHex,
} from './core/hash.js';
export type { Hasher, HashEngine, HashInput } from './core/hash.js';
export { hashEngineInfo, ready } from './core/hash-engines.js';
export type { HashEngineName, HashEngineInfo } from './core/hash-engines.js';
export { coreEngine } from './core/sha256-core.js';
export type { CoreEngine, CoreHasher } from './core/sha256-core.js';
export { hashRangesParallel } from './parallel/parallel-hash.js';
export type { RangeSource, ParallelHashOptions } from './parallel/parallel-hash.js';
export { silentLogger } from './log/logger.js';
export type { Logger, Level, Fields, WithLogger } from './log/logger.js';
export { CircularLog, MAX_LOG_CAPACITY, LOG_CLOSE_TIMEOUT_MS } from './log/circular-log.js';
export type { CircularLogOptions, CircularLogStats, LogTimer } from './log/circular-log.js';
export type { LogSink, LogBatch, FlushReason } from './log/sink.js';
export type { LogRecord } from './log/record.js';
export { LEVELS } from './log/record.js';
export { fileSink } from './log/file-sink.js';
export type { FileSinkOptions } from './log/file-sink.js';
export { opfsSink } from './log/opfs-sink.js';
export { consoleSink } from './log/console-sink.js';
export type { ConsoleLike } from './log/console-sink.js';
export { memorySink } from './log/memory-sink.js';
export type { MemorySink } from './log/memory-sink.js';
// stores
export type { Store, StoreEntry, ByteRange, VersionedValue, WriteCondition, HashedValue } from './store/store.js';
export { MemoryStore, sharedMemoryStore } from './store/memory.js';
export { FsStore } from './store/fs.js';
export { HttpStore } from './store/http.js';
export { S3Store, parseS3Url, signRequest, DEFAULT_PART_SIZE, DEFAULT_PARTS_IN_FLIGHT } from './store/s3.js';
export type { S3StoreOptions, S3Stats, S3Credentials } from './store/s3-backend.js';
export type { HttpStoreOptions, HttpStats } from './store/http.js';
export { MAX_DECODED_BYTES } from './store/http.js';
export { HTTP_TIMEOUT_MS } from './store/http-deadline.js';
export { redactUrl } from './store/redact.js';
export { OpfsStore } from './store/opfs.js';
export { IdbStore } from './store/idb.js';
export { resolveSource } from './store/resolve.js';
export type { Source, Dest, StoreRef, ResolveOptions } from './store/resolve.js';
// safetensors: write, convert, sidecar, sharded layout, canonical JSON + HMAC
export { writeSafetensors } from './format/safetensors-write.js';
export type { WriteOptions, WriteResult } from './format/safetensors-write.js';
export { toFloat32, decodeMiniFloat } from './format/convert.js';
export { SIDECAR_FORMAT, SIDECAR_VERSION, SIDECAR_SUFFIX, sidecarKeyFor, parseSidecar, serializeSidecar } from './format/sidecar.js';
export type { Sidecar, SidecarTensor } from './format/sidecar.js';
export { INDEX_SUFFIX, indexKeyFor, shardKeys, parseIndex, serializeIndex } from './format/sharded.js';
export type { ShardIndex } from './format/sharded.js';
export type { IndexSidecar } from './format/index-sidecar.js';
export { canonicalJson, signJson, checkJsonMac } from './format/signed-json.js';
export type { MacKey } from './format/signed-json.js';
export { generateSigningKey, keyFingerprint } from './format/signing-keys.js';
export { SIGNATURE_PAYLOAD_TYPE } from './format/signed-json.js';
export type { PrivateKeyInput, PublicKeyInput, DocumentSignature } from './format/signature.js';
export { DTYPES, isDtype, dtypeBits } from './types/dtype.js';
export type { Dtype } from './types/dtype.js';
export type { TensorInfo, Header, TensorView, TensorData, TensorMap } from './types/tensor.js';
export type { Progress, ProgressPhase, ProgressCallback, OperationOptions } from './types/operation.js';
// TensorFlow.js bridge (tf is the caller's own: a peer dependency, never bundled)
export type { Tf, ModelLike, VariableModel, LayersModelLike, LayerVariableLike } from './tfjs/tf.js';
export { namedVariables, snapshotModel, modelSignature, planModelRestore } from './tfjs/variables.js';
export type { NamedVariable } from './tfjs/variables.js';
export { OPTIMIZER_SPECS, snapshotOptimizer, planOptimizerRestore, optimizerSignature } from './tfjs/optimizer-state.js';
export type { OptimizerState, RestorePlan } from './tfjs/optimizer-state.js';
// header validation and the shape check (WASM core)
export { parseHeader, readHeaderLength, MAX_HEADER_LENGTH } from './core/header.js';
export type { HeaderOptions } from './core/header.js';
export { checkShapes, compareShapes } from './core/shapes.js';
export type { TensorSpecs, ShapeCheckOptions, ShapeReport } from './core/shapes.js';
export { readSafetensors } from './sources/read.js';
export { SafetensorsView } from './format/safetensors-view.js';
export type { ReadOptions, SafetensorsFile } from './format/safetensors-read.js';
export { verify } from './sources/verify.js';
export { sign } from './sources/sign.js';
export type { VerifyOptions, VerifyReport } from './sources/verify.js';
export type { SignOptions, SignResult } from './sources/sign.js';
// legacy PyTorch .pt: read without executing pickle
export { readTorch, readTorchFile, walkTensors, TorchTensor, TorchStorage } from './format/torch/read.js';
export type { ReadTorchOptions, TorchFile } from './format/torch/read.js';
export { DEFAULT_LIMITS as TORCH_PICKLE_LIMITS } from './format/torch/unpickle.js';
export type { PickleLimits } from './format/torch/unpickle.js';
export { crc32 } from './core/crc32.js';
export { convertTorchToSafetensors, selectTensors, sourceSha256, WEIGHT_KEYS } from './format/torch/convert.js';
export type { ConvertOptions, ConvertResult } from './format/torch/convert.js';
export { torchCheckpointToTrainingState } from './format/torch/training.js';
export type { TorchTrainingState, TorchOptimizerState, TrainingStateOptions } from './format/torch/training.js';
// any weights source by tensor name (safetensors, sharded, .pt), and the diff of two
export { openTensors } from './sources/open.js';
export type { TensorSource, TensorEntry, OpenTensorsOptions, CheckpointFacts } from './sources/open.js';
export { diffTensors } from './sources/diff.js';
export type { TensorDiff, ChangedTensor, TensorSummary, DiffSide } from './sources/diff.js';
// training checkpoints: save, load, resume, list; metadata, lineage, registry, adapters
export { saveCheckpoint, flushCheckpoints } from './checkpoint/save.js';
export type { TrainingState, SaveOptions, AsyncSaveOptions, PendingCheckpoint, CheckpointInfo } from './checkpoint/save.js';
export type { PartOptions } from './checkpoint/parts.js';
export { loadCheckpoint } from './checkpoint/load.js';
export type { LoadOptions, LoadedCheckpoint } from './checkpoint/load.js';
export { resumeTraining } from './checkpoint/resume.js';
export type { ResumeOptions, ResumedCheckpoint, SkippedCheckpoint } from './checkpoint/resume.js';
export { listCheckpoints } from './sources/list.js';
export { saveWeights, loadWeights } from './sources/weights.js';
export { checkpointCallback } from './checkpoint/fit-callback.js';
export type { CheckpointCallbackOptions, FitCallback, FitCursor } from './checkpoint/fit-callback.js';
export type { SaveWeightsOptions, SavedWeights, LoadWeightsOptions, LoadedWeights } from './sources/weights.js';
export { WEIGHT_NAMING } from './tfjs/names.js';
export { transpose2d } from './checkpoint/adapters/adapter.js';
export type { RetentionPolicy } from './checkpoint/retention.js';
export { CHECKPOINT_FORMAT, CHECKPOINT_VERSION, DEFAULT_ARCHITECTURE } from './checkpoint/layout.js';
export type { Manifest, FileEntry } from './checkpoint/manifest.js';
export type { ModelMetadata, Lineage, LineageLink } from './checkpoint/metadata.js';
export type { Registry, RegistryEntry } from './checkpoint/registry.js';
export { BUILTIN_ADAPTERS, adapterFor } from './checkpoint/adapters/index.js';
export type { ArchitectureAdapter } from './checkpoint/adapters/adapter.js';
export { qwenAdapter, qwenName } from './checkpoint/adapters/qwen.js';
export { customTransformerAdapter } from './checkpoint/adapters/custom-transformer.js';

// Names in a checkpoint root (DESIGN.md, "a training checkpoint: a directory"):
//
//   step-00000120/        one committed checkpoint (manifest + files below)
//   LATEST                the name of the newest committed checkpoint
//   registry.json         model_name → model_id, architecture_type, lineage, checkpoints
//
// A save goes to `step-NNNNNNNN.tmp-…` first (the store's temporary-name form,
// so the same rule recognises every leftover) and is renamed when complete; a
// re-save sets the folder it replaces aside as `step-NNNNNNNN.replaced-…`
// until LATEST has moved (commit.ts).
// On object stores (S3), where a rename is a copy, every save writes straight
// into a folder of its own, `step-NNNNNNNN-XXXXXXXX`, and is committed by the
// conditional write of LATEST alone.
// A checkpoint written by several writers (parts.ts) holds one folder per
// rank, `rank-RRRRR-of-NNNNN/` (that rank's files and its part.json), and the
// one checkpoint.json that commits them all.
// The checkpoint format's identity lives here too, beside the names: the public entry exports these
// constants from this small file, so a page that reads model files does not ship the manifest's code
// (an entry's re-export makes esbuild put a module's code in the page's first chunks, bench/size.bench.js).
// The folder names' patterns (step-N, rank parts, replaced folders) are in folder-names.ts for the same
// reason: a page that reads model files uses these names (the detector looks for LATEST and the manifest)
// and none of the patterns, which the checkpoint reader it loads later uses.
/** The `format` tag of a checkpoint manifest (checkpoint.json). */
export const CHECKPOINT_FORMAT = 'safeckpt.checkpoint';
/** The newest checkpoint `format_version` this build writes and reads (a newer one is refused as UNSUPPORTED). */
export const CHECKPOINT_VERSION = 3;
/** The architecture a checkpoint without metadata is assumed to hold (backward compatibility). */
export const DEFAULT_ARCHITECTURE = 'custom-transformer';

export const MANIFEST = 'checkpoint.json';
export const MODEL_FILE = 'model.safetensors';
export const OPTIMIZER_FILE = 'optimizer.safetensors';
export const TRAINER_STATE = 'trainer_state.json';
export const VOCAB = 'vocab.json';
export const LATEST = 'LATEST';
export const REGISTRY = 'registry.json';
/** Longest folder name a file system keeps (255 bytes): LATEST never holds more. */
export const MAX_NAME_LENGTH = 255;

/** One rank's manifest inside its part folder: written last, so its presence means the part is complete. */
export const PART_MANIFEST = 'part.json';
/** Ranks and world sizes fit 5 digits (S3 and fs listings sort them by rank). */
export const MAX_WORLD_SIZE = 99_999;

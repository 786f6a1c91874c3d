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
import { baseOf } from '../store/keys.js';

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

/** Eight digits sort lexically up to step 99,999,999; larger steps still parse (the digits just grow). */
const STEP_DIGITS = 8;
/** At most 16 digits: every safe-integer step, and a bound on what the pattern ever scans. */
const STEP_DIR = /^step-(\d{8,16})(?:-[0-9a-f]{8})?$/;
/** A checkpoint folder set aside while a re-save of the same step replaces it: `step-N.replaced-<time36>`. */
const REPLACED = /\.replaced-([0-9a-z]+)$/;

export function stepDirName(step: number): string {
  return `step-${String(step).padStart(STEP_DIGITS, '0')}`;
}

/** A folder name no other save uses (object stores: two writers of one step never write into the same folder). */
export function uniqueStepDirName(step: number): string {
  return `${stepDirName(step)}-${Math.floor(Math.random() * 0x100000000).toString(16).padStart(8, '0')}`;
}

/** The step a committed checkpoint folder name stands for, or null when it is not one. */
export function stepOfDir(name: string): number | null {
  if (name.length > MAX_NAME_LENGTH) return null;
  const m = STEP_DIR.exec(baseOf(name));
  const step = m ? Number(m[1]) : NaN;
  return Number.isSafeInteger(step) ? step : null;
}

/** Where a re-save sets the committed folder `name` aside (the suffix orders them by time). */
export function replacedName(name: string): string {
  return `${name}.replaced-${Date.now().toString(36)}`;
}

/**
 * For a folder set aside by a re-save: the folder it was (`step-N`) and when it was set aside (ms);
 * null for any other name. Until the re-save commits, that folder holds the committed checkpoint.
 */
export function replacedOf(name: string): { base: string; at: number } | null {
  const m = REPLACED.exec(name);
  if (!m) return null;
  const base = name.slice(0, m.index);
  return stepOfDir(base) === null ? null : { base, at: parseInt(m[1], 36) };
}

/** One rank's manifest inside its part folder: written last, so its presence means the part is complete. */
export const PART_MANIFEST = 'part.json';
/** Ranks and world sizes fit 5 digits (S3 and fs listings sort them by rank). */
export const MAX_WORLD_SIZE = 99_999;
const PART_DIR = /^rank-(\d{5})-of-(\d{5})$/;

/** The part folder of `rank` of `worldSize`, e.g. 'rank-00001-of-00004'. */
export function partDirName(rank: number, worldSize: number): string {
  return `rank-${String(rank).padStart(5, '0')}-of-${String(worldSize).padStart(5, '0')}`;
}

/** Rank and world size of a part folder name, or null. */
export function partOf(name: string): { rank: number; worldSize: number } | null {
  const m = PART_DIR.exec(name);
  return m ? { rank: Number(m[1]), worldSize: Number(m[2]) } : null;
}

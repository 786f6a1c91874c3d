// The names of a checkpoint root's folders (layout.ts draws the root): a committed checkpoint
// `step-NNNNNNNN` (or `step-NNNNNNNN-XXXXXXXX` on object stores), a folder a re-save set aside
// `step-NNNNNNNN.replaced-<time36>`, and a rank's part `rank-RRRRR-of-NNNNN`.
import { baseOf } from '../store/keys.js';
import { MAX_NAME_LENGTH } from './layout.js';

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

// Model metadata and fine-tuning lineage, as the checkpointing spec asks
// (004_ada63831f80d4cc5.txt): model_name, model_id (e.g. a Hugging Face repo),
// architecture_type ('qwen', 'custom-transformer'), source ('huggingface',
// 'custom', 'finetuned'), architecture parameters (n_layers, d_model, …), and
// the full chain of fine-tuning runs back to the original model, each with its
// start time.
//
// The manifest is authenticated over canonical JSON, which admits integers
// only (a float has no single text form across languages), so non-integer
// numbers (rms_eps, a metric) are stored as their shortest round-trip decimal
// string and read back as numbers.

import { CheckpointError, errorFor } from '../errors.js';

/** What a checkpoint says about the model it holds. */
export interface ModelMetadata {
  model_name: string;
  /** The original identifier (e.g. 'Qwen/Qwen2-0.5B'); null for a custom model. */
  model_id: string | null;
  architecture_type: string;
  source: string;
  /** Architecture parameters (n_layers, d_model, …). */
  architecture: Record<string, unknown>;
}

/** One run in a model's history: the original model first, each fine-tuning run after it. */
export interface LineageLink {
  model_name: string;
  model_id: string | null;
  architecture_type: string;
  source: string;
  /** The model this run started from (null for the first link). */
  fine_tuned_from: string | null;
  /** When this run (fine-tuning or original training) started, ISO 8601. */
  started_at: string;
  /** The checkpoint it started from: step and folder (null for the first link). */
  from_checkpoint: { step: number; path: string } | null;
}

/** Where a model came from: the chain of models it was trained or fine-tuned from. */
export interface Lineage {
  /** The parent model_name (the chain's second-to-last link), or null. */
  fine_tuned_from: string | null;
  /** Every run from the original model to this one, oldest first. */
  chain: LineageLink[];
}

// Defined with the layout, like the format tag: the public entry exports it from there.
export { DEFAULT_ARCHITECTURE } from './layout.js';

/** Metadata nests a few levels; deeper values (a hostile manifest, a runaway config) are refused before the stack is. */
export const MAX_METADATA_DEPTH = 64;

function tooDeep(): CheckpointError {
  return errorFor('CORRUPT', `model metadata nests deeper than ${MAX_METADATA_DEPTH} levels: it is damaged, or not metadata`, { detail: 'BAD_METADATA' });
}

/** Own data property, also for a key named __proto__ (plain assignment would change the prototype). */
function put(o: Record<string, unknown>, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

/** A value as it is stored in the signed manifest: non-integer numbers become decimal strings. */
export function toSignable(v: unknown, depth = 0): unknown {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? v : String(v);
  if (v && typeof v === 'object' && depth >= MAX_METADATA_DEPTH) throw tooDeep();
  if (Array.isArray(v)) return v.map((x) => toSignable(x, depth + 1));
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) put(out, k, toSignable(x, depth + 1));
    return out;
  }
  return v;
}

/** The inverse of toSignable for values known to be numeric-or-other (architecture, metrics). */
export function fromSignable(v: unknown, depth = 0): unknown {
  if (typeof v === 'string' && v !== '' && String(Number(v)) === v && !Number.isSafeInteger(Number(v))) return Number(v);
  if (v && typeof v === 'object' && depth >= MAX_METADATA_DEPTH) throw tooDeep();
  if (Array.isArray(v)) return v.map((x) => fromSignable(x, depth + 1));
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) put(out, k, fromSignable(x, depth + 1));
    return out;
  }
  return v;
}

/** The first link of a new model's chain. */
export function firstLink(m: ModelMetadata, startedAt: string): LineageLink {
  return {
    model_name: m.model_name, model_id: m.model_id, architecture_type: m.architecture_type, source: m.source,
    fine_tuned_from: null, started_at: startedAt, from_checkpoint: null,
  };
}

/** The lineage of `m` continuing `parent` as a new fine-tuning run started at `startedAt` from `from`. */
export function forkLineage(parent: Lineage, m: ModelMetadata, startedAt: string, from: { step: number; path: string }): Lineage {
  const parentName = parent.chain.length ? parent.chain[parent.chain.length - 1].model_name : null;
  const link: LineageLink = {
    model_name: m.model_name, model_id: m.model_id, architecture_type: m.architecture_type, source: m.source,
    fine_tuned_from: parentName, started_at: startedAt, from_checkpoint: from,
  };
  return { fine_tuned_from: parentName, chain: [...parent.chain.map((l) => ({ ...l })), link] };
}

/** The parameters that differ between two architecture descriptions (compared in stored form). */
export function architectureDifferences(expected: Record<string, unknown>, found: Record<string, unknown>): string[] {
  const a = toSignable(expected) as Record<string, unknown>, b = toSignable(found) as Record<string, unknown>;
  const out: string[] = [];
  for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    if (!(k in a) || !(k in b)) continue; // a parameter one side does not describe is not a conflict
    if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) out.push(`${k}: checkpoint ${JSON.stringify(fromSignable(a[k]))}, model ${JSON.stringify(fromSignable(b[k]))}`);
  }
  return out;
}

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const strOrNull = (x: unknown): x is string | null => x === null || typeof x === 'string';

/**
 * `x` as a Lineage, or a description of what is malformed: a lineage read back from a file
 * (manifest, registry) or given by a caller is checked before it is used or written anywhere.
 */
export function checkLineage(x: unknown): { lineage: Lineage } | { problem: string } {
  if (!isObj(x)) return { problem: 'the lineage is not an object' };
  if (!strOrNull(x.fine_tuned_from ?? null)) return { problem: 'lineage.fine_tuned_from is neither a string nor null' };
  if (!Array.isArray(x.chain)) return { problem: 'lineage.chain is not an array' };
  const chain: LineageLink[] = [];
  for (const [i, l] of x.chain.entries()) {
    if (!isObj(l) || typeof l.model_name !== 'string' || typeof l.started_at !== 'string') return { problem: `lineage link ${i} lacks model_name or started_at` };
    if (!strOrNull(l.model_id ?? null) || !strOrNull(l.fine_tuned_from ?? null)) return { problem: `lineage link ${i}: model_id or fine_tuned_from is neither a string nor null` };
    if ((l.architecture_type !== undefined && typeof l.architecture_type !== 'string') || (l.source !== undefined && typeof l.source !== 'string')) {
      return { problem: `lineage link ${i}: architecture_type or source is not a string` };
    }
    const fc = l.from_checkpoint ?? null;
    if (fc !== null && !(isObj(fc) && Number.isSafeInteger(fc.step) && typeof fc.path === 'string')) return { problem: `lineage link ${i}: from_checkpoint is malformed` };
    chain.push({ ...l } as unknown as LineageLink);
  }
  return { lineage: { fine_tuned_from: (x.fine_tuned_from ?? null) as string | null, chain } };
}

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

/** The architecture a checkpoint without metadata is assumed to hold (backward compatibility). */
export const DEFAULT_ARCHITECTURE = 'custom-transformer';

/** A value as it is stored in the signed manifest: non-integer numbers become decimal strings. */
export function toSignable(v: unknown): unknown {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? v : String(v);
  if (Array.isArray(v)) return v.map(toSignable);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = toSignable(x);
    return out;
  }
  return v;
}

/** The inverse of toSignable for values known to be numeric-or-other (architecture, metrics). */
export function fromSignable(v: unknown): unknown {
  if (typeof v === 'string' && v !== '' && String(Number(v)) === v && !Number.isSafeInteger(Number(v))) return Number(v);
  if (Array.isArray(v)) return v.map(fromSignable);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = fromSignable(x);
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

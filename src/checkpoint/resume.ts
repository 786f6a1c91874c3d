// resumeTraining: continue from the newest GOOD checkpoint of a root. The
// complaint it answers is "the last checkpoint is incomplete and resume
// crashes" (transformers#35782, #35525, #29059; Lightning#688):
//  - leftovers of interrupted saves are never read, and are removed; a
//    committed checkpoint that an interrupted re-save had set aside is put
//    back under its name (commit.ts: recoverRoot);
//  - candidates are tried newest first (the one LATEST names, then by step);
//    one that fails verification (missing or damaged files, bad manifest, bad
//    HMAC) is skipped with a warning naming it and why, through the caller's
//    logger, and the next is tried;
//  - a checkpoint that verifies but does not fit the model (shape,
//    architecture, optimizer class) or is newer than this build stops the
//    resume: an older checkpoint would not fit either, or would silently lose
//    work.
// With `newModelName`, the resumed run is a new fine-tuning variant: it is
// registered in registry.json with fine_tuned_from = the checkpoint's model,
// and its lineage gains a link (start time, source checkpoint).
import { CheckpointError, NotFoundError, errorFor } from '../errors.js';
import { loggerFrom } from '../log/logger.js';
import { resolveSource, type Source } from '../store/resolve.js';
import { joinKey } from '../store/keys.js';
import { recoverRoot, type Recovery } from './commit.js';
import { checkpointDirs, readLatest } from './list.js';
import { loadedFrom, prepareRestore, type LoadedCheckpoint, type LoadOptions } from './load.js';
import { readCheckpointDir, type CheckpointContents } from './read.js';
import { forkLineage } from './metadata.js';
import { registerModel, updateRegistry } from './registry.js';
import { throwIfAborted, underSignal } from '../types/operation.js';
import { publicKeyCheck } from '../format/public-key-check.js';

/**
 * Options of resumeTraining: those of a load (the model required), a new fine-tuning run's name and id, leftover
 * cleanup. `signal` cancels it (reads stop, nothing is assigned); there is no onProgress: a broken checkpoint
 * makes it fall back to an older one, so no total is known in advance.
 */
export interface ResumeOptions extends Omit<LoadOptions, 'onProgress'> {
  model: NonNullable<LoadOptions['model']>;
  /** Start a new fine-tuning run under this model_name (registered, with lineage). */
  newModelName?: string;
  /** model_id of the new variant (default: the parent's). */
  newModelId?: string | null;
  /** Remove leftovers of interrupted saves (default true; skipped on read-only stores). */
  cleanup?: boolean;
  /**
   * Object stores (S3): the folder of a save that never committed is a leftover once nothing in it has changed
   * for this long (default a day): no live writer can still be writing into it (docs/s3.md).
   */
  abandonedAfterMs?: number;
  /** Timestamp source (tests). */
  now?: () => Date;
}

/** A checkpoint resume passed over, and why (it did not verify, or could not be read). */
export interface SkippedCheckpoint {
  name: string;
  code: string;
  message: string;
}

/** What resumeTraining restored (as LoadedCheckpoint), the newer checkpoints it passed over and the leftovers it removed. */
export interface ResumedCheckpoint extends LoadedCheckpoint {
  /** Newer checkpoints that failed verification and were passed over. */
  skipped: SkippedCheckpoint[];
  /** Leftovers of interrupted saves that were removed. */
  cleaned: string[];
  /** Committed checkpoints put back under their names (a re-save was killed between its renames). */
  restored: string[];
}

/** Failures that mean "this checkpoint is damaged": the next older one may be fine. */
const DAMAGE = new Set(['NOT_FOUND', 'CORRUPT', 'INTEGRITY', 'AUTH', 'IO']);

/** Restores the newest checkpoint under `root` that verifies into the model and optimizer given, falling back past broken ones and cleaning leftovers of interrupted saves. */
export async function resumeTraining(root: Source, opts: ResumeOptions): Promise<ResumedCheckpoint> {
  return underSignal(opts.signal, () => resumeUnder(root, opts));
}

async function resumeUnder(root: Source, opts: ResumeOptions): Promise<ResumedCheckpoint> {
  const log = loggerFrom(opts);
  const { store, key: rootKey } = resolveSource(root, { signal: opts.signal });
  // A bad public key is UNSUPPORTED at once, not a reason to skip every checkpoint.
  const checkSignature = opts.publicKey !== undefined ? await publicKeyCheck(opts.publicKey) : undefined;

  const recovered: Recovery = opts.cleanup !== false && !store.readOnly ? await recoverRoot(store, rootKey, { logger: log, abandonedAfterMs: opts.abandonedAfterMs, now: opts.now?.().getTime() }) : { restored: [], cleaned: [] };
  const { restored, cleaned } = recovered;

  const found = await checkpointDirs(store, rootKey);
  const dirOf = new Map(found.map((d) => [d.name, d.dir]));
  const dirs = found.map((d) => d.name).reverse();
  const latest = await readLatest(store, rootKey).catch(() => null);
  const order = latest && dirs.includes(latest) ? [latest, ...dirs.filter((d) => d !== latest)] : dirs;
  if (latest && !dirs.includes(latest)) {
    log.warn('LATEST names a checkpoint that does not exist: falling back to the newest one that verifies', { root: store.describe(rootKey), latest });
  }
  if (order.length === 0) {
    throw new NotFoundError(`no checkpoint to resume from in ${store.describe(rootKey)}: it holds no committed step-NNNNNNNN folder`, {
      path: store.describe(rootKey), detail: 'NO_CHECKPOINT',
    });
  }

  const skipped: SkippedCheckpoint[] = [];
  let chosen: CheckpointContents | undefined;
  let plans: ReturnType<typeof prepareRestore> = [];
  for (const name of order) {
    try {
      const c = await readCheckpointDir(store, joinKey(rootKey, dirOf.get(name) ?? name), { key: opts.key, checkSignature, logger: log, signal: opts.signal, rank: opts.rank });
      throwIfAborted(opts.signal);
      plans = prepareRestore(c, opts, log);
      chosen = c;
      break;
    } catch (e) {
      // An abort is the caller's, not damage: never a reason to fall back to an older checkpoint.
      throwIfAborted(opts.signal);
      const err = e instanceof CheckpointError ? e : errorFor('IO', String((e as Error)?.message ?? e), { cause: e });
      if (!DAMAGE.has(err.code)) throw err;
      skipped.push({ name, code: err.code, message: err.message });
      log.warn(`skipping checkpoint ${name}: ${err.code}: ${err.message}`, { root: store.describe(rootKey), checkpoint: name, code: err.code, detail: err.detail });
    }
  }
  if (!chosen) {
    throw errorFor('INTEGRITY', `no checkpoint in ${store.describe(rootKey)} verifies; tried ${skipped.map((s) => `${s.name} (${s.code})`).join(', ')}`, {
      path: store.describe(rootKey), detail: 'NONE_VERIFIED', data: { skipped },
    });
  }
  for (const p of plans) p.commit();
  const loaded = loadedFrom(chosen);
  if (skipped.length) log.warn(`resumed from ${loaded.name} after skipping ${skipped.length} newer checkpoint(s) that failed verification`, { root: store.describe(rootKey), skipped: skipped.map((s) => s.name) });
  log.info('resumed', { path: loaded.path, step: loaded.step, model_name: loaded.metadata.model_name });

  if (opts.newModelName !== undefined && opts.newModelName !== loaded.metadata.model_name) {
    const startedAt = (opts.now?.() ?? new Date()).toISOString();
    const parent = loaded.metadata;
    const metadata = {
      ...parent, model_name: opts.newModelName, source: 'finetuned',
      model_id: opts.newModelId !== undefined ? opts.newModelId : parent.model_id,
    };
    const lineage = forkLineage(loaded.lineage.chain.length ? loaded.lineage : { fine_tuned_from: null, chain: [] }, metadata, startedAt, { step: loaded.step, path: loaded.path });
    if (lineage.chain.length === 1) {
      // The parent had no recorded chain (an older checkpoint): its own link is unknown, but its name is.
      lineage.fine_tuned_from = parent.model_name;
      lineage.chain[0].fine_tuned_from = parent.model_name;
    }
    if (!store.readOnly) await updateRegistry(store, rootKey, log, (reg) => void registerModel(reg, metadata, lineage));
    log.info('started a new fine-tuning run', { model_name: metadata.model_name, fine_tuned_from: lineage.fine_tuned_from, started_at: startedAt });
    return { ...loaded, metadata, lineage, skipped, cleaned, restored };
  }
  return { ...loaded, skipped, cleaned, restored };
}

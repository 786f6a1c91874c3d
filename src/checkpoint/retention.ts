// Retention (after Orbax's policies): keep the last N checkpoints and the best
// K by a metric; the one LATEST names is never removed, whatever the policy.
import type { Logger } from '../log/logger.js';
import type { Store } from '../store/store.js';
import { joinKey } from '../store/keys.js';
import { checkpointDirs, listAt } from './list.js';
import { removeCheckpointFolder } from './commit.js';
import { removeAbandoned } from './abandoned.js';

/** Which checkpoints a save keeps: the last N and the best K by a metric (never the one LATEST names). */
export interface RetentionPolicy {
  /** Keep the N most recent checkpoints (by step). */
  keepLast?: number;
  /** Keep the K best by `metric` (lower is better unless mode is 'max'). */
  keepBest?: { k: number; metric: string; mode?: 'min' | 'max' };
  /**
   * Object stores (S3): also remove the folders of saves that never committed once nothing in them has changed
   * for this long (default a day; docs/s3.md says why that is safe).
   */
  abandonedAfterMs?: number;
}

/** Removes the checkpoints `policy` does not keep; returns their folder names. */
export async function applyRetention(store: Store, rootKey: string, policy: RetentionPolicy, log: Logger): Promise<string[]> {
  if (policy.keepLast === undefined && policy.keepBest === undefined) return [];
  const all = await listAt(store, rootKey);
  const keep = new Set(all.filter((c) => c.latest).map((c) => c.name));
  if (policy.keepLast !== undefined) for (const c of all.slice(Math.max(0, all.length - policy.keepLast))) keep.add(c.name);
  const best = policy.keepBest;
  if (best) {
    const sign = best.mode === 'max' ? -1 : 1;
    const ranked = all.filter((c) => Number.isFinite(c.metrics[best.metric])).sort((a, b) => sign * (a.metrics[best.metric] - b.metrics[best.metric]) || b.step - a.step);
    for (const c of ranked.slice(0, best.k)) keep.add(c.name);
  }
  const removed: string[] = [];
  const dirs = new Map((await checkpointDirs(store, rootKey)).map((d) => [d.name, d.dir]));
  for (const c of all) {
    if (keep.has(c.name)) continue;
    await removeCheckpointFolder(store, joinKey(rootKey, dirs.get(c.name) ?? c.name));
    removed.push(c.name);
  }
  if (removed.length) log.info('retention removed checkpoints', { root: store.describe(rootKey), removed, kept: [...keep].sort() });
  const abandoned = await removeAbandoned(store, rootKey, { olderThanMs: policy.abandonedAfterMs });
  if (abandoned.length) log.info('removed folders of saves that never committed', { root: store.describe(rootKey), removed: abandoned });
  return removed;
}

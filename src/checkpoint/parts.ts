// One checkpoint written by several writers: saveCheckpoint(root, state,
// { rank, worldSize, checkpointId }).
//
// Every rank writes its own part — its tensors with their sidecars, its
// trainer state and vocabulary, and last its part manifest, part.json — into
// `rank-RRRRR-of-NNNNN/` of one folder all ranks derive from checkpointId. The
// checkpoint is committed once, when all parts are durable, by whichever rank
// finds them all: each rank, after its part, reads the part manifests; the
// last one to finish sees every part and commits — writes checkpoint.json
// (every file of every part with size and SHA-256, signed when a key is
// given), then the commit of a single-writer save (fs: the folder's rename and
// LATEST; S3: the conditional PUT of LATEST). The other ranks wait until it is
// committed (or until commitTimeoutMs, with an IO error naming the ranks whose
// part is missing), and if the committing rank dies mid-commit, a waiting rank
// that finds every part still uncommitted commits itself: the commit is
// idempotent (the manifest is built from the parts alone, the same bytes
// whoever builds it; on fs the commit runs under the root's lock, on S3 a
// lost conditional PUT to a LATEST that already names this checkpoint is
// success). A rank killed before its part.json means no commit: LATEST stays.
//
// Why the last writer rather than rank 0 (PyTorch DCP's coordinator, and
// Orbax's primary host, finalize after a collective barrier): safeckpt has no
// collective, only the store. "Whoever completes the set" needs no
// rank-to-rank channel, commits as soon as the slowest part lands (no
// polling delay on the critical path), and has no single rank whose death
// after the others finished loses a complete checkpoint. Like Orbax on GCS and
// S3, which cannot rename a folder, the commit is a small object written last.
import { CorruptError, IoError, NotFoundError, UnsupportedError, isCheckpointError } from '../errors.js';
import { loggerFrom, type Logger } from '../log/logger.js';
import { sha256, toHex } from '../core/hash.js';
import type { Store } from '../store/store.js';
import type { Dest } from '../store/resolve.js';
import { writeAtomic } from '../store/atomic.js';
import { joinKey } from '../store/keys.js';
import { withLock } from '../store/lock.js';
import { parseJsonObject, shownJson } from '../format/signed-json.js';
import { LATEST, MANIFEST, MAX_WORLD_SIZE, PART_MANIFEST } from './layout.js';
import { partDirName, stepDirName } from './folder-names.js';
import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION, manifestSigner, parseManifest, serializeSignedManifest, type FileEntry, type Manifest } from './manifest.js';
import { checkLineage, firstLink, type Lineage, type ModelMetadata } from './metadata.js';
import { commitFolder } from './commit.js';
import { commitRecordKey, isObjectStore } from './commits.js';
import { readRegistry, registerModel, updateRegistry } from './registry.js';
import { applyRetention } from './retention.js';
import { listAt } from './list.js';
import { capture, checkWrittenManifest, commitLatest, writeStateFiles, type CheckpointInfo, type SaveOptions, type TrainingState } from './save.js';

/** How long a rank waits for the other parts before giving up (a rank that died never writes its part). */
export const DEFAULT_COMMIT_TIMEOUT_MS = 10 * 60_000;
const PART_FORMAT = 'safeckpt.part';
/** Polling of the other ranks' parts: from 20 ms, doubling, to 1 s. */
const POLL_FIRST_MS = 20;
const POLL_MAX_MS = 1000;
const CHECKPOINT_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The options that make saveCheckpoint write one rank's part of a checkpoint of several writers. */
export interface PartOptions {
  /** This writer's rank, 0 ≤ rank < worldSize. */
  rank: number;
  /** How many writers write this checkpoint (each its own part). */
  worldSize: number;
  /** The same on every rank and unique per save attempt (e.g. a job id and the step): names the folder they share. */
  checkpointId: string;
  /** How long to wait for the other ranks' parts (default 10 minutes). */
  commitTimeoutMs?: number;
}

/** One rank's part.json. */
interface PartManifest {
  checkpoint_id: string;
  step: number;
  rank: number;
  world_size: number;
  created_at: string;
  model: ModelMetadata;
  lineage: Lineage | null;
  metrics: Record<string, number>;
  files: Record<string, FileEntry>;
}

const enc = new TextEncoder();
const hex = (b: Uint8Array) => toHex(sha256(b));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function checkPartOptions(o: Partial<PartOptions>): PartOptions {
  const bad = (what: string) => new UnsupportedError(`saveCheckpoint with several writers: ${what}`, { detail: 'BAD_OPTIONS' });
  const { rank, worldSize, checkpointId } = o;
  if (!Number.isSafeInteger(worldSize) || worldSize! < 1 || worldSize! > MAX_WORLD_SIZE) throw bad(`worldSize must be an integer from 1 to ${MAX_WORLD_SIZE}, got ${String(worldSize)}`);
  if (!Number.isSafeInteger(rank) || rank! < 0 || rank! >= worldSize!) throw bad(`rank must be an integer from 0 to worldSize − 1 = ${worldSize! - 1}, got ${String(rank)}`);
  if (typeof checkpointId !== 'string' || !CHECKPOINT_ID.test(checkpointId)) {
    throw bad(`checkpointId must be the same string on every rank and new for every save (1–128 of A–Z a–z 0–9 . _ : -), got ${shownJson(checkpointId)}`);
  }
  return { rank: rank!, worldSize: worldSize!, checkpointId, commitTimeoutMs: o.commitTimeoutMs };
}

/** The folder the ranks share: on S3 the checkpoint's own (`step-N-XXXXXXXX`); on fs a staging folder renamed at commit. */
function folderNames(store: Store, step: number, id: string): { staging: string; final: string } {
  const h = hex(enc.encode(id)).slice(0, 8);
  if (isObjectStore(store)) return { staging: `${stepDirName(step)}-${h}`, final: `${stepDirName(step)}-${h}` };
  // A leftover form (store/atomic.ts: `.tmp-WORD-8HEX`), so an abandoned one is cleaned like any interrupted save's.
  return { staging: `${stepDirName(step)}.tmp-parts-${h}`, final: stepDirName(step) };
}

/** Writes this rank's part, then commits the checkpoint if it completes the set, else waits for its commit. */
export async function savePart(root: Dest, state: TrainingState, opts: SaveOptions & Partial<PartOptions>): Promise<CheckpointInfo> {
  const p = checkPartOptions(opts);
  const log = loggerFrom(opts);
  const c = capture(root, state, opts);
  const { store, rootKey, step } = c;
  if (state.lineage !== undefined && 'problem' in checkLineage(state.lineage)) {
    throw new UnsupportedError(`training state: ${(checkLineage(state.lineage) as { problem: string }).problem} (pass the lineage a LoadedCheckpoint returned, or none)`, { detail: 'BAD_STATE' });
  }
  await manifestSigner(opts.privateKey); // a bad private key fails before this rank writes anything
  const { staging, final } = folderNames(store, step, p.checkpointId);
  const folder = joinKey(rootKey, staging);
  const partKey = joinKey(folder, partDirName(p.rank, p.worldSize));
  try {
    const files = await writeStateFiles(c, partKey, opts, log);
    const part: PartManifest = {
      checkpoint_id: p.checkpointId, step, rank: p.rank, world_size: p.worldSize, created_at: c.createdAt, model: c.meta,
      lineage: c.lineage ?? null, metrics: c.metrics, files,
    };
    const bytes = enc.encode(JSON.stringify({ format: PART_FORMAT, format_version: 1, ...part }, null, 1) + '\n');
    // Whole or absent: the other ranks read it to learn whether this part is complete.
    await writeAtomic(store, joinKey(partKey, PART_MANIFEST), bytes);
    await store.sync(partKey);
  } catch (e) {
    await store.remove(partKey).catch(() => {});
    log.error('writing this rank\'s part of a checkpoint failed', { path: store.describe(partKey), step, rank: p.rank, error: String((e as Error)?.message ?? e) });
    throw isCheckpointError(e) ? e : new IoError(`writing part ${p.rank} of checkpoint ${store.describe(folder)} failed: ${(e as Error)?.message ?? String(e)}`, { path: store.describe(partKey), cause: e });
  }
  log.info('checkpoint part written', { path: store.describe(partKey), step, rank: p.rank, world_size: p.worldSize });

  const deadline = Date.now() + (p.commitTimeoutMs ?? DEFAULT_COMMIT_TIMEOUT_MS);
  for (let delay = POLL_FIRST_MS; ; delay = Math.min(POLL_MAX_MS, delay * 2)) {
    if (await isCommitted(store, rootKey, final, p.checkpointId)) return infoOf(store, rootKey, final, false);
    const found = await readParts(store, folder, p);
    if (found.missing.length === 0) {
      const info = await commitParts(store, rootKey, staging, final, found.parts, opts, log);
      if (info) return info;
    } else if (Date.now() > deadline) {
      throw new IoError(`checkpoint ${store.describe(folder)} was not committed: after ${Math.round((p.commitTimeoutMs ?? DEFAULT_COMMIT_TIMEOUT_MS) / 1000)} s ` +
        `the part${found.missing.length > 1 ? 's' : ''} of rank ${found.missing.join(', ')} of ${p.worldSize} ${found.missing.length > 1 ? 'are' : 'is'} still missing ` +
        `(a writer died or was not started?). LATEST was not moved; save again under a new checkpointId`, {
        path: store.describe(folder), detail: 'COMMIT_TIMEOUT', data: { missing: found.missing },
      });
    }
    await sleep(delay);
  }
}

/** Every rank's part manifest, verified against its own bytes' size; the ranks whose part is not complete. */
async function readParts(store: Store, folder: string, p: PartOptions): Promise<{ parts: { name: string; bytes: Uint8Array; part: PartManifest }[]; missing: number[] }> {
  const parts: { name: string; bytes: Uint8Array; part: PartManifest }[] = [];
  const missing: number[] = [];
  for (let r = 0; r < p.worldSize; r++) {
    const name = partDirName(r, p.worldSize);
    const key = joinKey(joinKey(folder, name), PART_MANIFEST);
    let bytes: Uint8Array;
    try {
      bytes = await store.read(key);
    } catch (e) {
      if (e instanceof NotFoundError) { missing.push(r); continue; }
      throw e;
    }
    let d: PartManifest & { format?: unknown };
    try {
      d = parseJsonObject(bytes, store.describe(key)) as unknown as PartManifest & { format?: unknown };
    } catch {
      missing.push(r); // Not whole (a store whose renames copy, caught mid-copy): not complete yet.
      continue;
    }
    if (d.format !== PART_FORMAT || d.checkpoint_id !== p.checkpointId || d.rank !== r || d.world_size !== p.worldSize || typeof d.files !== 'object' || d.files === null) {
      throw new CorruptError(`${store.describe(key)} is not rank ${r}'s part of checkpoint '${p.checkpointId}' (found rank ${shownJson(d.rank)} of ${shownJson(d.world_size)}, checkpoint ${shownJson(d.checkpoint_id)}): use a new checkpointId for every save`, {
        path: store.describe(key), detail: 'BAD_PART',
      });
    }
    parts.push({ name, bytes, part: d });
  }
  if (missing.length === 0) {
    const steps = new Set(parts.map((x) => x.part.step));
    if (steps.size > 1) {
      throw new CorruptError(`the parts of checkpoint '${p.checkpointId}' in ${store.describe(folder)} are of different steps (${[...steps].join(', ')}): every rank must save the same step`, {
        path: store.describe(folder), detail: 'BAD_PART',
      });
    }
  }
  return { parts, missing };
}

/** True when checkpoint `final` of the root is committed and is this save's (its manifest carries `id`). */
async function isCommitted(store: Store, rootKey: string, final: string, id: string): Promise<boolean> {
  if (isObjectStore(store)) {
    const latest = await store.read(joinKey(rootKey, LATEST)).then((b) => new TextDecoder().decode(b).trim(), () => null);
    if (latest === final) return true;
    return store.exists(commitRecordKey(rootKey, final));
  }
  try {
    const key = joinKey(joinKey(rootKey, final), MANIFEST);
    return parseManifest(await store.read(key), store.describe(key)).manifest.checkpoint_id === id;
  } catch (e) {
    if (e instanceof NotFoundError) return false;
    throw e;
  }
}

/**
 * Commits a checkpoint whose parts are all complete: the manifest over every part, then LATEST. Idempotent
 * (another rank may be committing the same checkpoint): resolves to null when that other rank got there
 * first, so the caller reports it as committed by someone else.
 */
async function commitParts(store: Store, rootKey: string, staging: string, final: string, parts: { name: string; bytes: Uint8Array; part: PartManifest }[],
  opts: SaveOptions, log: Logger): Promise<CheckpointInfo | null> {
  const first = parts[0].part;
  const registry = await readRegistry(store, rootKey, log);
  const lineage: Lineage = first.lineage ?? registry.models[first.model.model_name]?.lineage ?? { fine_tuned_from: null, chain: [firstLink(first.model, first.created_at)] };
  const files: Record<string, FileEntry> = {};
  for (const { name, bytes, part } of parts) {
    for (const [f, e] of Object.entries(part.files)) files[`${name}/${f}`] = e;
    files[`${name}/${PART_MANIFEST}`] = { size: bytes.length, sha256: hex(bytes) };
  }
  const manifest: Manifest = {
    format: CHECKPOINT_FORMAT, format_version: CHECKPOINT_VERSION, step: first.step, created_at: first.created_at,
    model: first.model, lineage, files, metrics: first.metrics, checkpoint_id: first.checkpoint_id, parts: parts.map((x) => x.name),
  };
  const manifestBytes = await serializeSignedManifest(manifest, { key: opts.key, keyId: opts.keyId, signer: await manifestSigner(opts.privateKey) });
  const latestKey = joinKey(rootKey, LATEST);
  const folder = joinKey(rootKey, staging);
  if (isObjectStore(store)) {
    await store.write(joinKey(folder, MANIFEST), manifestBytes);
    await checkWrittenManifest(store, joinKey(folder, MANIFEST), manifestBytes, opts.key);
    const before = await store.readVersioned!(latestKey);
    if (before && new TextDecoder().decode(before.bytes).trim() === final) return null;
    try {
      await commitLatest(store, latestKey, final, before);
    } catch (e) {
      if ((e as { detail?: string }).detail === 'CONFLICT' && (await isCommitted(store, rootKey, final, first.checkpoint_id))) return null;
      throw e;
    }
  } else {
    const done = await withLock(store, latestKey, async () => {
      if (await isCommitted(store, rootKey, final, first.checkpoint_id)) return true;
      await store.write(joinKey(folder, MANIFEST), manifestBytes);
      await store.sync(joinKey(folder, MANIFEST));
      await checkWrittenManifest(store, joinKey(folder, MANIFEST), manifestBytes, opts.key);
      await store.sync(folder);
      const aside = await commitFolder(store, folder, joinKey(rootKey, final));
      await writeAtomic(store, latestKey, enc.encode(final + '\n'));
      if (aside) await store.remove(aside).catch(() => {});
      return false;
    });
    if (done) return null;
  }
  log.info('checkpoint committed', { path: store.describe(joinKey(rootKey, final)), step: first.step, parts: parts.length, model_name: first.model.model_name });
  let removed: string[] = [];
  try {
    if (opts.retention) removed = await applyRetention(store, rootKey, opts.retention, log);
    await updateRegistry(store, rootKey, log, (reg) => void registerModel(reg, first.model, lineage, final));
  } catch (e) {
    log.warn('checkpoint committed, but applying retention or updating registry.json failed (the next save brings registry.json up to date)', { path: store.describe(rootKey), error: String((e as Error)?.message ?? e) });
  }
  const info = await infoOf(store, rootKey, final, true);
  return removed.length ? { ...info, removed } : info;
}

/** The committed checkpoint `name` as listCheckpoints shows it. */
async function infoOf(store: Store, rootKey: string, name: string, latest: boolean): Promise<CheckpointInfo> {
  const found = (await listAt(store, rootKey)).find((c) => c.name === name);
  if (!found) throw new NotFoundError(`${store.describe(joinKey(rootKey, name))} was committed but is no longer listed (removed by retention meanwhile?)`, { path: store.describe(joinKey(rootKey, name)) });
  return { ...found, latest: found.latest || latest };
}

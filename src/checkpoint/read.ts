// Reading one checkpoint folder completely and checking every byte of it
// before anything is handed to a model: the manifest (format, version, HMAC
// when a key is given), then each file it lists against its recorded size and
// SHA-256, then the files' contents (safetensors headers, trainer state).
// Each file is read once; the safetensors are parsed from the verified bytes.
import { CheckpointError, CorruptError, IntegrityError, NotFoundError, errorFor } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { sha256, toHex } from '../core/hash.js';
import type { Store } from '../store/store.js';
import { MemoryStore } from '../store/memory.js';
import { baseOf, joinKey } from '../store/keys.js';
import { checkJsonMac, parseJson, signatureKeyids, type MacKey, type SignatureCheck } from '../format/signed-json.js';
import type { SafetensorsFile, SingleFile } from '../format/safetensors-read.js';
import { joinFiles } from '../format/sharded-file.js';
import { openModel } from '../format/safetensors-read.js';
import { sidecarKeyFor } from '../format/sidecar.js';
import { ProgressReporter, throwIfAborted, type ProgressCallback } from '../types/operation.js';
import { LATEST, MANIFEST, MODEL_FILE, OPTIMIZER_FILE, TRAINER_STATE, VOCAB } from './layout.js';
import { replacedOf, stepDirName, stepOfDir } from './folder-names.js';
import { logMigration, parseManifest, type Manifest } from './manifest.js';
import { parseTrainerState, type TrainerState } from './trainer-state.js';
import { committedDir, readLatest } from './list.js';

export interface CheckpointContents {
  store: Store;
  /** The checkpoint folder's key in the store. */
  key: string;
  /** The folder, for people. */
  path: string;
  manifest: Manifest;
  /** The format_version found on disk (before migration). */
  version: number;
  /** Fingerprints of the keys whose Ed25519 signatures the manifest carries (checked only for the public key given). */
  signedBy: string[];
  trainer: TrainerState;
  vocab: unknown;
  model: SafetensorsFile;
  optimizer: SafetensorsFile | null;
}

export interface ReadCheckpointOptions {
  key?: MacKey;
  /** The manifest must pass this Ed25519 signature check (AUTH otherwise). */
  checkSignature?: SignatureCheck;
  logger: Logger;
  /** Checked before each file is read: an aborted signal stops the read with its reason. */
  signal?: AbortSignal;
  /** Bytes of the listed files read and hashed (phase 'read'), ending at their total. */
  onProgress?: ProgressCallback;
  /**
   * A checkpoint of several writers: read only this rank's part (its tensors, optimizer slots, trainer
   * state). Default: the union of every part's tensors, with rank 0's trainer state. Every file of every
   * part is verified either way.
   */
  rank?: number;
}

/**
 * The checkpoint folder `key` names: itself when it holds checkpoint.json, else the folder its
 * LATEST names. NOT_FOUND says which of the two was looked for.
 */
export async function locateCheckpoint(store: Store, key: string): Promise<string> {
  if (await store.exists(joinKey(key, MANIFEST))) return key;
  const latest = await readLatest(store, key);
  if (latest !== null) {
    if (stepOfDir(latest) === null || latest.includes('/')) {
      throw errorFor('CORRUPT', `${store.describe(joinKey(key, LATEST))} holds '${latest}', which is not a checkpoint folder name (step-NNNNNNNN)`, {
        path: store.describe(joinKey(key, LATEST)), detail: 'BAD_LATEST',
      });
    }
    return committedDir(store, key, latest);
  }
  throw new NotFoundError(`no checkpoint at ${store.describe(key)}: it holds neither ${MANIFEST} nor ${LATEST} (check the path; a checkpoint root is the folder saveCheckpoint wrote into)`, {
    path: store.describe(key), detail: 'NO_CHECKPOINT',
  });
}

/** Reads and verifies everything in the checkpoint folder `key`. */
export async function readCheckpointDir(store: Store, key: string, opts: ReadCheckpointOptions): Promise<CheckpointContents> {
  const path = store.describe(key);
  const manifestKey = joinKey(key, MANIFEST);
  let manifestBytes: Uint8Array;
  try {
    manifestBytes = await store.read(manifestKey);
  } catch (e) {
    if (e instanceof NotFoundError) {
      throw new NotFoundError(`${path} is not a committed checkpoint: ${MANIFEST} is missing (an interrupted save, or the wrong folder)`, { path: store.describe(manifestKey), detail: 'NO_MANIFEST', cause: e });
    }
    throw e;
  }
  const parsed = parseManifest(manifestBytes, store.describe(manifestKey));
  if (opts.key !== undefined) checkJsonMac(parsed.raw, opts.key, store.describe(manifestKey));
  await opts.checkSignature?.(parsed.raw, store.describe(manifestKey));
  logMigration(opts.logger, path, parsed);
  const m = parsed.manifest;
  // The folder's name says which step it is; the (signed) manifest must say the same, so a copy of a
  // checkpoint under another step's name is refused, not loaded as that step.
  const folder = baseOf(key);
  const named = stepOfDir(folder) ?? stepOfDir(replacedOf(folder)?.base ?? '');
  if (named !== null && named !== m.step) {
    throw new IntegrityError(`${path} is named for step ${named}, but its manifest is for step ${m.step}: a checkpoint copied or renamed under another step's name (restore the folder under ${stepDirName(m.step)}, or resume from another checkpoint)`, {
      path: store.describe(manifestKey), detail: 'STEP_MISMATCH', data: { named, manifest: m.step },
    });
  }
  // A checkpoint of several writers holds each rank's files in its part folder (parts.ts).
  const parts = m.parts ?? [''];
  const inPart = (part: string, file: string) => (part === '' ? file : `${part}/${file}`);
  for (const part of parts) {
    for (const file of [MODEL_FILE, TRAINER_STATE]) {
      if (!m.files[inPart(part, file)]) throw new CorruptError(`${store.describe(manifestKey)} lists no ${inPart(part, file)}`, { path: store.describe(manifestKey), detail: 'BAD_MANIFEST' });
    }
  }
  if (m.parts && opts.rank !== undefined && !(Number.isSafeInteger(opts.rank) && opts.rank >= 0 && opts.rank < m.parts.length)) {
    throw new NotFoundError(`${path} was written by ${m.parts.length} ranks (0 to ${m.parts.length - 1}): it has no part of rank ${opts.rank}`, { path, detail: 'NO_SUCH_RANK' });
  }

  // Every listed file: present, of the recorded size, with the recorded SHA-256.
  const bytes: Record<string, Uint8Array> = {};
  const progress = new ProgressReporter(opts.onProgress, Object.values(m.files).reduce((a, f) => a + (f.size ?? 0), 0), 'read');
  for (const [name, f] of Object.entries(m.files)) {
    throwIfAborted(opts.signal);
    const fk = joinKey(key, name);
    if (f.size !== null) {
      const size = await store.size(fk).catch((e) => {
        if (e instanceof NotFoundError) throw new NotFoundError(`${store.describe(fk)} is missing, but the manifest lists it: the checkpoint is incomplete`, { path: store.describe(fk), detail: 'FILE_MISSING', cause: e });
        throw e;
      });
      if (size !== f.size) {
        throw new IntegrityError(`${store.describe(fk)} is ${size} bytes, but the manifest records ${f.size}: the file was truncated or replaced`, {
          path: store.describe(fk), detail: 'SIZE_MISMATCH', data: { expected: f.size, found: size },
        });
      }
    }
    // Hashed as it downloads where the store can (S3: while the later parts are still on the wire).
    const hashed = store.readHashed ? await store.readHashed(fk) : null;
    const b = hashed ? hashed.bytes : await store.read(fk);
    const digest = toHex(hashed ? hashed.sha256 : sha256(b));
    if (digest !== f.sha256) {
      throw new IntegrityError(`${store.describe(fk)} has SHA-256 ${digest}, but the manifest records ${f.sha256}: the file is corrupted or was altered`, {
        path: store.describe(fk), detail: 'HASH_MISMATCH', data: { expected: f.sha256, found: digest },
      });
    }
    bytes[name] = b;
    progress.add(b.length);
  }
  progress.finish();

  // The bytes are exactly the committed ones; parse them in place (the manifest hash covered every byte). A
  // sidecar recording the same file hash was made from these very bytes: its tensor digests are not computed
  // again (one pass over the data, not two); its header hash and size are still checked.
  const open = async (file: string): Promise<SafetensorsFile> => {
    const files: Record<string, Uint8Array> = { [file]: bytes[file] };
    if (bytes[sidecarKeyFor(file)]) files[sidecarKeyFor(file)] = bytes[sidecarKeyFor(file)];
    try {
      return await openModel(new MemoryStore(files), 'file', file, { load: 'all', verify: true, logger: opts.logger, fileSha256: m.files[file].sha256 });
    } catch (e) {
      if (e instanceof CheckpointError) throw relocate(e, store.describe(joinKey(key, file)));
      throw e;
    }
  };
  // Several parts: the union of their tensors (or one rank's), read as the shards of one model are.
  const chosen = m.parts && opts.rank !== undefined ? [m.parts[opts.rank]] : parts;
  const joined = async (file: string): Promise<SafetensorsFile | null> => {
    const present = chosen.filter((p) => bytes[inPart(p, file)]);
    if (present.length === 0) return null;
    const files = await Promise.all(present.map((p) => open(inPart(p, file)) as Promise<SingleFile>));
    return files.length === 1 && !m.parts ? files[0] : joinFiles(store, joinKey(key, file), files);
  };
  const model = (await joined(MODEL_FILE))!;
  const optimizer = await joined(OPTIMIZER_FILE);
  const own = m.parts ? m.parts[opts.rank ?? 0] : '';
  const trainer = parseTrainerState(bytes[inPart(own, TRAINER_STATE)], store.describe(joinKey(key, inPart(own, TRAINER_STATE))), m.step);
  let vocab: unknown = null;
  if (bytes[inPart(own, VOCAB)]) {
    vocab = parseJson(bytes[inPart(own, VOCAB)], store.describe(joinKey(key, inPart(own, VOCAB))));
  }
  return { store, key, path, manifest: m, version: parsed.version, signedBy: signatureKeyids(parsed.raw), trainer, vocab, model, optimizer };
}

/** The same error, naming the file where it really is (it was parsed from memory). */
function relocate(e: CheckpointError, where: string): CheckpointError {
  const msg = e.message.replace(/memory:[^\s:]*/g, where);
  return errorFor(e.code, msg, { detail: e.detail, path: where, tensor: e.tensor, position: e.position, data: e.data, cause: e });
}

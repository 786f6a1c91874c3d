// checkpoint.json: the manifest of one committed checkpoint. It lists every
// file of the checkpoint with its size and SHA-256, so verifying the manifest
// (and its HMAC, when signed) covers every byte of the checkpoint; it carries
// the step, the creation time, the model metadata and the lineage.
//
// Versions: 1 was the first layout (files as name → sha256, no model
// metadata, no lineage); it still loads, migrated, with architecture_type
// 'custom-transformer' and a warning. A version newer than this build knows
// is refused (UNSUPPORTED) rather than half-understood. Version 3 adds
// checkpoints written by several writers: `parts` names one folder per rank
// (their files are listed as `rank-…/NAME`), `checkpoint_id` the save they
// belong to; a checkpoint without them is as in version 2.
import { CorruptError, UnsupportedError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { canonicalJson, parseJsonObject, shownJson, signJson, type MacKey } from '../format/signed-json.js';
import type { PrivateKeyInput, Signer } from '../format/signature.js';
import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION, DEFAULT_ARCHITECTURE } from './layout.js';
import { partDirName } from './folder-names.js';
import { checkLineage, fromSignable, toSignable, type Lineage, type ModelMetadata } from './metadata.js';

// Defined with the layout: the public entry exports them from there, and a page that only reads model
// files then ships none of this file (bench/size.bench.js).
export { CHECKPOINT_FORMAT, CHECKPOINT_VERSION } from './layout.js';

/** One file a manifest lists: its size and SHA-256. */
export interface FileEntry {
  /** null only in checkpoints migrated from version 1, which did not record sizes. */
  size: number | null;
  sha256: string;
}

/** A checkpoint's manifest (checkpoint.json): step, model metadata, lineage, every file with size and SHA-256, optional HMAC. */
export interface Manifest {
  format: typeof CHECKPOINT_FORMAT;
  format_version: number;
  step: number;
  created_at: string;
  model: ModelMetadata;
  lineage: Lineage;
  /** name (relative to the checkpoint folder) → size and SHA-256. */
  files: Record<string, FileEntry>;
  /** Numbers the caller reported at save time (e.g. loss), used by best-K retention. */
  metrics: Record<string, number>;
  /** Multi-writer checkpoints: the id all ranks saved under. */
  checkpoint_id?: string;
  /** Multi-writer checkpoints: the part folders, rank 0 first (`rank-00000-of-0000N`, …). */
  parts?: string[];
  key_id?: string;
  hmac?: string;
}

/** What a migration from an older version had to assume: logged as warnings by the loader. */
export interface ParsedManifest {
  manifest: Manifest;
  /** The version found in the file (before migration). */
  version: number;
  warnings: string[];
}

/** The manifest as written (signed when a key is given). */
export function serializeManifest(m: Manifest, key?: MacKey, keyId?: string): Uint8Array {
  return encodeManifest(manifestDocument(m, key, keyId));
}

function manifestDocument(m: Manifest, key?: MacKey, keyId?: string): Record<string, unknown> {
  const { hmac: _h, key_id: _k, ...body } = m;
  const stored = toSignable({ ...body, model: { ...body.model, architecture: body.model.architecture }, metrics: body.metrics }) as Record<string, unknown>;
  return key === undefined ? stored : signJson(stored, key, keyId);
}

function encodeManifest(doc: Record<string, unknown>): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(doc, null, 1) + '\n');
}

/**
 * serializeManifest, and with `signer` an Ed25519 signature over it (docs/signatures.md) as the manifest is first
 * written: a reader holding the public key never meets the committed checkpoint unsigned. Ed25519 is
 * deterministic, so two ranks committing the same checkpoint with the same key write the same bytes.
 */
export async function serializeSignedManifest(m: Manifest, opts: { key?: MacKey; keyId?: string; signer?: Signer }): Promise<Uint8Array> {
  const doc = manifestDocument(m, opts.key, opts.keyId);
  if (!opts.signer) return encodeManifest(doc);
  const { addSignature } = await import('../format/signature.js');
  return encodeManifest(await addSignature(doc, opts.signer, canonicalJson));
}

/** The signer of `privateKey` (UNSUPPORTED BAD_KEY for a bad one), imported before anything is written; undefined without one. */
export async function manifestSigner(privateKey: PrivateKeyInput | undefined): Promise<Signer | undefined> {
  if (privateKey === undefined) return undefined;
  return (await import('../format/signature.js')).importPrivateKey(privateKey);
}

const HEX64 = /^[0-9a-f]{64}$/;
const isUint = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const strOrNull = (x: unknown): x is string | null => x === null || typeof x === 'string';

/**
 * Parses checkpoint.json: CORRUPT naming what is malformed, UNSUPPORTED for a newer version,
 * migration of older ones. Returns the raw document too (the HMAC is checked over it).
 */
export function parseManifest(bytes: Uint8Array, path: string): ParsedManifest & { raw: Record<string, unknown> } {
  const d = parseJsonObject(bytes, path);
  const bad = (what: string) => new CorruptError(`${path}: ${what} (the manifest is damaged: restore the checkpoint from a good copy, or resume from an earlier one)`, {
    path, detail: 'BAD_MANIFEST',
  });
  if (d.format !== undefined && d.format !== CHECKPOINT_FORMAT) throw bad(`"format" is ${shownJson(d.format)}, expected "${CHECKPOINT_FORMAT}"`);
  const version = d.format_version;
  if (!isUint(version) || version < 1) throw bad('"format_version" is not a positive integer');
  if (version > CHECKPOINT_VERSION) {
    throw new UnsupportedError(`${path} has checkpoint format_version ${version}; this safeckpt reads versions 1 to ${CHECKPOINT_VERSION}: upgrade safeckpt to load it`, {
      path, detail: 'FORMAT_VERSION', data: { found: version, supported: CHECKPOINT_VERSION },
    });
  }
  if (!isUint(d.step)) throw bad('"step" is not a non-negative integer');
  const warnings: string[] = [];
  const m = version === 1 ? migrateV1(d, bad, warnings) : d;
  if (typeof m.created_at !== 'string') throw bad('"created_at" is not a string');
  if (!isObj(m.files)) throw bad('"files" is not an object');
  for (const [name, f] of Object.entries(m.files)) {
    if (!isObj(f) || !(isUint(f.size) || (version === 1 && f.size === null)) || typeof f.sha256 !== 'string' || !HEX64.test(f.sha256)) throw bad(`the entry of file '${name}' is malformed`);
    if (name.includes('..') || name.startsWith('/')) throw bad(`file name '${name}' leaves the checkpoint folder`);
  }
  const model = m.model === undefined || m.model === null ? missingModel(m, warnings) : m.model;
  if (!isObj(model)) throw bad('"model" is not an object');
  if (typeof model.architecture_type !== 'string' || model.architecture_type === '') {
    warnings.push(`${path} names no architecture_type: assuming '${DEFAULT_ARCHITECTURE}'`);
    model.architecture_type = DEFAULT_ARCHITECTURE;
  }
  if (typeof model.model_name !== 'string') model.model_name = 'unnamed';
  if (!strOrNull(model.model_id ?? null)) throw bad('"model.model_id" is neither a string nor null');
  if (typeof model.source !== 'string') model.source = 'custom';
  const checked = m.lineage === undefined || m.lineage === null ? { lineage: { fine_tuned_from: null, chain: [] } as Lineage } : checkLineage(m.lineage);
  if ('problem' in checked) throw bad(`"lineage" is malformed: ${checked.problem}`);
  const lineage = checked.lineage;
  if (d.parts !== undefined) {
    const n = Array.isArray(d.parts) ? d.parts.length : 0;
    if (!Array.isArray(d.parts) || n === 0 || d.parts.some((p, i) => p !== partDirName(i, n))) throw bad(`"parts" is not the list of part folders rank-00000-of-N … (found ${shownJson(d.parts)})`);
    if (typeof d.checkpoint_id !== 'string') throw bad('"checkpoint_id" is missing in a checkpoint of several parts');
  }
  const manifest: Manifest = {
    format: CHECKPOINT_FORMAT,
    format_version: CHECKPOINT_VERSION,
    step: d.step,
    created_at: m.created_at as string,
    model: {
      model_name: model.model_name as string,
      model_id: (model.model_id ?? null) as string | null,
      architecture_type: model.architecture_type as string,
      source: model.source as string,
      architecture: isObj(model.architecture) ? (fromSignable(model.architecture) as Record<string, unknown>) : {},
    },
    lineage,
    files: m.files as Record<string, FileEntry>,
    metrics: isObj(m.metrics) ? (fromSignable(m.metrics) as Record<string, number>) : {},
    ...(typeof d.checkpoint_id === 'string' ? { checkpoint_id: d.checkpoint_id } : {}),
    ...(Array.isArray(d.parts) ? { parts: d.parts as string[] } : {}),
    ...(typeof d.key_id === 'string' ? { key_id: d.key_id } : {}),
    ...(typeof d.hmac === 'string' ? { hmac: d.hmac } : {}),
  };
  return { manifest, version, warnings, raw: d };
}

function missingModel(m: Record<string, unknown>, warnings: string[]): Record<string, unknown> {
  warnings.push(`the checkpoint has no model metadata (an older checkpoint): assuming architecture_type '${DEFAULT_ARCHITECTURE}'`);
  return { architecture_type: DEFAULT_ARCHITECTURE, model_name: 'unnamed', model_id: null, source: 'custom', architecture: isObj(m.config) ? m.config : {} };
}

/** Version 1: files were `name → sha256` (sizes unrecorded), no created_at, model or lineage. */
function migrateV1(d: Record<string, unknown>, bad: (w: string) => Error, warnings: string[]): Record<string, unknown> {
  if (!isObj(d.files)) throw bad('"files" is not an object');
  const files: Record<string, { size: null; sha256: unknown }> = {};
  for (const [name, sha] of Object.entries(d.files)) files[name] = { size: null, sha256: sha };
  warnings.push('checkpoint format_version 1 migrated to 2 (v1 recorded no file sizes: files are checked by SHA-256 alone)');
  return { ...d, created_at: typeof d.created_at === 'string' ? d.created_at : new Date(0).toISOString(), files };
}

/** Logs what a migration assumed, once per load. */
export function logMigration(log: Logger, path: string, p: ParsedManifest): void {
  for (const w of p.warnings) log.warn(w, { path, format_version: p.version });
}

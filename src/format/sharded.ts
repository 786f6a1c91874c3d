// Sharded models as Hugging Face lays them out: `PREFIX-00001-of-00003.safetensors`
// … plus `PREFIX.safetensors.index.json` = { metadata: { total_size }, weight_map:
// { tensor: shard file } }. This file holds the pure parts: naming, splitting,
// and reading/checking the index. The index gets its own small sidecar
// (`….index.json.meta.json`, index-sidecar.ts) binding each shard's SHA-256, so
// that a signed index authenticates every shard through the shards' own signed sidecars.
import { CorruptError } from '../errors.js';
import { dirOf, joinKey } from '../store/keys.js';
import { parseJsonObject } from './signed-json.js';

/** The key a write goes to when the destination names a store's root or a folder, and the file the detector looks for in a folder. */
export const DEFAULT_MODEL_KEY = 'model.safetensors';
/** The suffix of a sharded model's index, as Hugging Face names it (`model.safetensors.index.json`). */
export const INDEX_SUFFIX = '.safetensors.index.json';

/** A sharded model's index: metadata (total_size) and the weight map, tensor → shard file. */
export interface ShardIndex {
  metadata: { total_size: number; [k: string]: unknown };
  weight_map: Record<string, string>;
}

/** 'dir/model.safetensors' → 'dir/model'. */
function stemOf(key: string): string {
  return key.endsWith('.safetensors') ? key.slice(0, -'.safetensors'.length) : key;
}

export function isIndexKey(key: string): boolean {
  return key.endsWith(INDEX_SUFFIX);
}

/** The index of a model written at `key` ('dir/model.safetensors' → 'dir/model.safetensors.index.json'). */
export function indexKeyFor(key: string): string {
  return stemOf(key) + INDEX_SUFFIX;
}

/** Hugging Face's shard names: five digits, 1-based. */
export function shardKeys(key: string, count: number): string[] {
  const pad = (i: number) => String(i).padStart(5, '0');
  return Array.from({ length: count }, (_, i) => `${stemOf(key)}-${pad(i + 1)}-of-${pad(count)}.safetensors`);
}

/**
 * Splits tensors into shards of at most `max` data bytes, in order, as
 * transformers does: a tensor that would overflow the current shard starts a
 * new one; a tensor larger than `max` gets a shard of its own.
 */
export function splitShards<T extends { byteLength: number }>(items: T[], max: number): T[][] {
  if (!(Number.isSafeInteger(max) && max > 0)) throw new RangeError(`maxShardSize must be a positive integer, got ${max}`);
  const out: T[][] = [];
  let cur: T[] = [], size = 0;
  for (const t of items) {
    if (cur.length > 0 && size + t.byteLength > max) {
      out.push(cur);
      cur = [];
      size = 0;
    }
    cur.push(t);
    size += t.byteLength;
  }
  if (cur.length > 0 || out.length === 0) out.push(cur);
  return out;
}

/** The index JSON as transformers writes it (indent 2, sorted keys, trailing newline). */
export function serializeIndex(index: ShardIndex): Uint8Array {
  const sortKeys = (o: Record<string, unknown>) => Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]]));
  const doc = { metadata: sortKeys(index.metadata), weight_map: sortKeys(index.weight_map) };
  return new TextEncoder().encode(JSON.stringify(doc, null, 2) + '\n');
}

/** Parses an index; shard names must be plain file names next to it (no folders, no '..'). */
export function parseIndex(bytes: Uint8Array, path: string): ShardIndex {
  const d = parseJsonObject(bytes, path);
  const bad = (what: string) => new CorruptError(`${path}: ${what}`, { path, detail: 'BAD_INDEX' });
  const wm = d.weight_map as Record<string, unknown> | undefined;
  if (!wm || typeof wm !== 'object' || Array.isArray(wm)) throw bad('"weight_map" is missing or not an object');
  for (const [t, f] of Object.entries(wm)) {
    if (typeof f !== 'string' || f === '' || f.includes('/') || f.includes('\\') || f === '..' || f === '.') {
      throw bad(`tensor '${t}' maps to ${JSON.stringify(f)}, which is not a file name next to the index`);
    }
  }
  const md = (d.metadata ?? {}) as Record<string, unknown>;
  if (typeof md !== 'object' || Array.isArray(md)) throw bad('"metadata" is not an object');
  if (md.total_size !== undefined && !(typeof md.total_size === 'number' && Number.isSafeInteger(md.total_size) && md.total_size >= 0)) {
    throw bad('"metadata.total_size" is not a non-negative integer');
  }
  return { metadata: md as ShardIndex['metadata'], weight_map: wm as Record<string, string> };
}

/** The shard keys an index names, in order of first appearance, next to the index. */
export function shardKeysOf(indexKey: string, index: ShardIndex): string[] {
  return [...new Set(Object.values(index.weight_map))].map((f) => joinKey(dirOf(indexKey), f));
}

// Opening a sharded model — the one code path read, verify, sign, inspect and diff share. The index and
// its sidecar come first: with a key the index sidecar must exist and carry a valid HMAC (AUTH), and
// whenever it is checked (always with a key; by default when it exists) the index must hash to what it
// records and every shard must be the one it records — size and SHA-256, through the shard's own sidecar
// — or the open fails INTEGRITY naming the shard. All of that holds before any tensor data is read, so a
// shard copied in from another model signed with the same key, a shard dropped from the weight map or a
// deleted index sidecar never yields a tensor.
// Loaded only by dynamic import. The entry, imported for no bindings, keeps a page's start code in one
// chunk when a bundler splits code (the lazy-module hint: scripts/check-imports.js).
import '../index.js';
import { AuthError, IntegrityError, NotFoundError, errorFor } from '../errors.js';
import { createSha256, toHex } from '../core/hash.js';
import { loggerFrom } from '../log/logger.js';
import type { Store } from '../store/store.js';
import { baseOf } from '../store/keys.js';
import type { PoolLease } from '../parallel/lease.js';
import { own } from '../name-record.js';
import { ProgressReporter } from '../types/operation.js';
import { sidecarKeyFor } from './sidecar.js';
import { checkJsonMac } from './signed-json.js';
import { parseIndex, shardKeysOf, type ShardIndex } from './sharded.js';
import { parseIndexSidecar, type IndexSidecar } from './index-sidecar.js';
import { bytesOf, loadRequested, requestedNames, openSafetensorsFile, sidecarMissing, type ReadOptions, type SingleFile } from './safetensors-read.js';
import { ShardedFile } from './sharded-file.js';

async function readIndexSidecar(store: Store, indexKey: string): Promise<IndexSidecar | null> {
  try {
    return parseIndexSidecar(await store.read(sidecarKeyFor(indexKey)), store.describe(sidecarKeyFor(indexKey)));
  } catch (e) {
    if (e instanceof NotFoundError) return null;
    throw e;
  }
}

/** The index sidecar's rules: AUTH without one when a key is given, its HMAC with the key, the index's hash. */
function checkIndexSidecar(store: Store, indexKey: string, indexBytes: Uint8Array, isc: IndexSidecar | null, opts: ReadOptions, warnings: string[]): void {
  const path = store.describe(indexKey);
  const iscPath = store.describe(sidecarKeyFor(indexKey));
  if (!isc) {
    if (opts.key !== undefined) {
      throw new AuthError(`${path} has no sidecar (${iscPath}), so its weight map carries no HMAC, but a key was given: the model is not authenticated (sign it with \`safeckpt sign\`)`, {
        path, detail: 'HMAC_MISSING',
      });
    }
    if (opts.strict) throw sidecarMissing(store, indexKey);
    warnings.push(`no index sidecar (${iscPath}): the weight map itself is not protected`);
    return;
  }
  if (opts.key !== undefined) checkJsonMac(isc as unknown as Record<string, unknown>, opts.key, iscPath);
  const h = toHex(createSha256().update(indexBytes).digest());
  if (h !== isc.sha256) {
    throw new IntegrityError(`${path} has SHA-256 ${h}, but its sidecar records ${isc.sha256}: the weight map was changed`, {
      path, detail: 'INDEX_HASH_MISMATCH', data: { expected: isc.sha256, found: h },
    });
  }
}

/** Every shard must be the one the index sidecar records (size, and SHA-256 through its own sidecar), and no recorded shard unused. */
function bindShards(store: Store, indexKey: string, isc: IndexSidecar, shardKeys: readonly string[], files: readonly SingleFile[]): void {
  for (const [i, k] of shardKeys.entries()) {
    const f = files[i], want = own(isc.shards, baseOf(k));
    if (!want) {
      throw new IntegrityError(`${store.describe(indexKey)}: the index sidecar does not list shard ${baseOf(k)}`, { path: f.path, detail: 'SHARD_NOT_IN_SIDECAR' });
    }
    if (want.size !== f.size || (f.sidecar && f.sidecar.sha256 !== want.sha256)) {
      throw new IntegrityError(`${f.path} is not the shard the index was signed with (recorded SHA-256 ${want.sha256}, size ${want.size}; found ${f.sidecar?.sha256 ?? 'no sidecar'}, size ${f.size}): a shard was replaced`, {
        path: f.path, detail: 'SHARD_MISMATCH', data: { expected: want, found: { size: f.size, sha256: f.sidecar?.sha256 ?? null } },
      });
    }
  }
  const used = new Set(shardKeys.map(baseOf));
  const listed = Object.keys(isc.shards).filter((f) => !used.has(f));
  if (listed.length) {
    throw new IntegrityError(`${store.describe(indexKey)}: the index sidecar lists shards the weight map no longer uses: ${listed.join(', ')}`, {
      path: store.describe(indexKey), detail: 'SHARD_MISSING',
    });
  }
}

/** The weight map must describe the shards exactly: a tensor in the wrong shard (or in none) is a broken model. */
function checkWeightMap(store: Store, indexKey: string, index: ShardIndex, shardKeys: readonly string[], files: readonly SingleFile[]): void {
  const path = store.describe(indexKey);
  for (const [i, k] of shardKeys.entries()) {
    const file = baseOf(k);
    for (const n of files[i].names) {
      const mapped = own(index.weight_map, n);
      if (mapped !== file) {
        throw errorFor('CORRUPT', `${path}: shard ${file} holds tensor '${n}', which the weight_map ${mapped ? `puts in ${mapped}` : 'does not list'}`, {
          path, tensor: n, detail: 'INDEX_MISMATCH',
        });
      }
    }
  }
  const present = new Set(files.flatMap((f) => f.names));
  for (const [n, file] of Object.entries(index.weight_map)) {
    if (!present.has(n)) throw errorFor('CORRUPT', `${path}: the weight_map puts tensor '${n}' in ${file}, but that shard does not hold it`, { path, tensor: n, detail: 'INDEX_MISMATCH' });
  }
}

/**
 * Opens the sharded model whose index is `store[indexKey]`: the index and (unless `verify: false` and no
 * key) its sidecar, every shard's header and sidecar, the weight map against the shards, every shard bound
 * to the index sidecar — then loads what `opts.load` asks for.
 */
export async function openSharded(store: Store, indexKey: string, opts: ReadOptions = {}, lease?: PoolLease, indexBytes?: Uint8Array): Promise<ShardedFile> {
  const check = opts.verify !== false || opts.key !== undefined || opts.checkSignature !== undefined;
  // The index sidecar is fetched while the index is (one round trip less over HTTP).
  const pendingIsc = check ? readIndexSidecar(store, indexKey) : null;
  pendingIsc?.catch(() => {});
  const bytes = indexBytes ?? (await store.read(indexKey));
  const index = parseIndex(bytes, store.describe(indexKey));
  const isc = pendingIsc ? await pendingIsc : null;
  const warnings: string[] = [];
  // With a public key the index sidecar must be signed by it: it binds every shard (bindShards below).
  await opts.checkSignature?.(isc as unknown as Record<string, unknown> | null, store.describe(sidecarKeyFor(indexKey)));
  if (check) checkIndexSidecar(store, indexKey, bytes, isc, opts, warnings);
  const keys = shardKeysOf(indexKey, index);
  const files = await Promise.all(keys.map((k) => openSafetensorsFile(store, k, opts)));
  checkWeightMap(store, indexKey, index, keys, files);
  if (check && isc) bindShards(store, indexKey, isc, keys, files);
  const log = loggerFrom(opts);
  for (const w of warnings) log.warn(w, { path: store.describe(indexKey) });
  const model = new ShardedFile(store, indexKey, index, files, check ? isc : null, warnings);
  // A list of names is routed to the shards holding them (an unknown name is NOT_FOUND); 'all' loads every shard.
  const progress = new ProgressReporter(opts.onProgress, files.reduce((a, f) => a + bytesOf(f, Array.isArray(opts.load) ? opts.load.filter((n) => f.header.get(n)) : requestedNames(f, store, opts)), 0), 'read');
  if (Array.isArray(opts.load)) await model.load(opts.load);
  else await Promise.all(files.map((f) => loadRequested(f, store, opts, lease, progress)));
  progress.finish();
  return model;
}


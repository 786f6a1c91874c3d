// What is this source? The one answer read, verify, sign, inspect, diff and convert share: a training
// checkpoint (its folder, or the root whose LATEST names one), a sharded model (its index, or a folder
// holding one), a safetensors file, a PyTorch file, or unknown. Content first, name second: a file's
// first bytes decide (a safetensors length prefix followed by '{', a zip or a pickle), and its name only
// when they do not (too short, garbled, absent) — so a safetensors file named x.bin is safetensors to
// every command, and a torch file named x.safetensors is torch. A folder is looked into as transformers
// does: a checkpoint's manifest or LATEST, then model.safetensors, then one index or one .safetensors file.
import { CheckpointError } from '../errors.js';
import { HEADER_PREFIX_BYTES, MAX_HEADER_LENGTH } from '../core/header.js';
import type { Store } from '../store/store.js';
import { baseOf, dirOf, joinKey } from '../store/keys.js';
import { DEFAULT_MODEL_KEY, INDEX_SUFFIX, isIndexKey } from '../format/sharded.js';
import { looksLikeZip } from '../format/torch/zip.js';
import { LATEST, MANIFEST } from '../checkpoint/layout.js';

export type SourceKind = 'checkpoint' | 'sharded' | 'safetensors' | 'torch' | 'unknown';

export interface DetectedSource {
  readonly kind: SourceKind;
  /** What to open: the file, the index, or the checkpoint folder (or root). */
  readonly key: string;
  /** The first bytes of `key` when they were read to decide (a sharded index: all of it). */
  readonly probe?: Uint8Array;
}

/**
 * Bytes read from the start of a file to tell its format: the safetensors length prefix, which a header
 * read needs anyway (it is handed on), so telling costs no request of its own.
 */
const PROBE_BYTES = HEADER_PREFIX_BYTES;
/** File names torch.save output goes by (HF's pytorch_model.bin included). */
const TORCH_NAME = /\.(pt|pth|bin|ckpt)$/i;
const isSpace = (b: number) => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;

/** The format the first bytes of a file show, or null when they show none. */
function byContent(head: Uint8Array): SourceKind | null {
  if (head.length < PROBE_BYTES) return null;
  const v = new DataView(head.buffer, head.byteOffset, PROBE_BYTES);
  const hi = v.getUint32(4, true), n = v.getUint32(0, true);
  // safetensors: a little-endian u64 header length, within the cap and at least '{}'. No zip or pickle
  // prefix reads as one: 'PK\3\4' and a pickle's 0x80 0x02… give lengths over the cap or a high word.
  const lengthFits = hi === 0 && n >= 2 && n <= MAX_HEADER_LENGTH;
  // torch ≥ 1.6 writes a zip; older torch.save a pickle, protocol 2 to 5.
  if (looksLikeZip(head)) return 'torch';
  if (head[0] === 0x80 && head[1] >= 2 && head[1] <= 5 && !lengthFits) return 'torch';
  if (lengthFits) return 'safetensors';
  let i = 0;
  while (i < head.length && isSpace(head[i])) i++;
  // JSON: of the weights sources, only a sharded model's index is one.
  if (head[i] === 0x7b) return 'sharded';
  return null;
}

/** The format a file's name suggests, or 'unknown'. */
function byName(key: string): SourceKind {
  if (isIndexKey(key)) return 'sharded';
  if (key.endsWith('.safetensors')) return 'safetensors';
  if (TORCH_NAME.test(key)) return 'torch';
  return 'unknown';
}

/** The first bytes of `store[key]` (a sharded index: all of it), or null when it is not a file (absent, or a folder). */
async function probeFile(store: Store, key: string): Promise<Uint8Array | null> {
  if (key === '') return null;
  try {
    if (isIndexKey(key)) return await store.read(key);
    return await store.read(key, { start: 0, end: PROBE_BYTES }).catch(async (e: unknown) => {
      // Shorter than the probe: read what there is.
      if (e instanceof CheckpointError && e.detail === 'SHORT_READ') return store.read(key, { start: 0, end: await store.size(key) });
      throw e;
    });
  } catch (e) {
    if (e instanceof CheckpointError && (e.code === 'NOT_FOUND' || e.detail === 'EISDIR')) return null;
    // A folder URL without its '/' (a server answers 403 or a listing): looked into as a folder.
    if (store.kind === 'http' && byName(key) === 'unknown' && e instanceof CheckpointError && e.code === 'IO') return null;
    throw e;
  }
}

const has = (store: Store, key: string) => store.exists(key).catch(() => false);

/** Tells what `store[key]` is. Reads the first bytes of a file; looks into a folder. Never throws for an absent source: 'unknown'. */
export async function detectSource(store: Store, key: string): Promise<DetectedSource> {
  const probe = await probeFile(store, key);
  if (probe) {
    // checkpoint.json named directly: the checkpoint folder holding it.
    if (baseOf(key) === MANIFEST) return { kind: 'checkpoint', key: dirOf(key) };
    const kind = byContent(probe) ?? byName(key);
    return { kind, key, probe };
  }
  // Absent and named like a file: nothing to tell (the reader then says NOT_FOUND, naming it).
  if (byName(key) !== 'unknown') return { kind: 'unknown', key };
  // A folder (or a store root).
  if ((await has(store, joinKey(key, MANIFEST))) || (await has(store, joinKey(key, LATEST)))) {
    return { kind: 'checkpoint', key };
  }
  // As transformers looks: model.safetensors, then its index; then one index or one .safetensors file.
  for (const k of [joinKey(key, DEFAULT_MODEL_KEY), joinKey(key, 'model' + INDEX_SUFFIX)]) {
    const p = await probeFile(store, k);
    if (p) return { kind: byContent(p) ?? byName(k), key: k, probe: p };
  }
  if (store.kind !== 'http') {
    const entries = await store.list(key).catch(() => []);
    const idx = entries.filter((e) => !e.isDirectory && isIndexKey(e.key));
    const single = entries.filter((e) => !e.isDirectory && e.key.endsWith('.safetensors'));
    if (idx.length === 1) return { kind: 'sharded', key: idx[0].key };
    if (single.length === 1) return { kind: 'safetensors', key: single[0].key };
  }
  return { kind: 'unknown', key };
}

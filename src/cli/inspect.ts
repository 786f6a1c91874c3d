// `safeckpt inspect <file|dir|url> [--json] [--digests]`: what a checkpoint file
// holds — format, tensors (dtype, shape, size), metadata — without loading it.
// Formats plug in as inspectors: each says from the file's first bytes how sure
// it is that it reads the file, and the surest one inspects it. Another format
// (a torch .pt, a sharded index, a folder) is one more entry in `inspectors`.
import type { Command } from './commands.js';
import { parseArgs } from './args.js';
import { UsageError } from './usage.js';
import { progressBar } from './progress.js';
import { plural, byteSize as bytes } from './text.js';
import { resolveSource } from '../store/resolve.js';
import type { Store } from '../store/store.js';
import { CheckpointError, NotFoundError, UnsupportedError } from '../errors.js';
import { locateModel } from '../format/safetensors-read.js';
import { safetensorsInspector } from './inspect-safetensors.js';
import { shardedInspector } from './inspect-sharded.js';
import { inspectCheckpoint } from './inspect-checkpoint.js';
import { isCheckpointFolder } from '../sources/open.js';
import { torchInspector } from './inspect-torch.js';

export interface InspectedTensor {
  name: string;
  dtype: string;
  shape: number[];
  byteLength: number;
  /** Where the bytes are, when the format stores tensors as one range each. */
  offsets?: [number, number];
  /** SHA-256 of the tensor's contiguous little-endian bytes (with --digests). */
  sha256?: string;
  /** The shard holding the tensor (sharded models). */
  file?: string;
}

export interface Inspection {
  format: string;
  path: string;
  /** File size in bytes. */
  size: number;
  /** In file order. */
  tensors: InspectedTensor[];
  metadata: Readonly<Record<string, string>> | null;
  /** Format-specific facts, printed as `key: value` and kept in the JSON. */
  details?: Record<string, string | number>;
}

export interface InspectOptions {
  digests: boolean;
  onProgress?: (done: number, total: number) => void;
}

export interface Inspector {
  readonly format: string;
  /** 0 when the first bytes rule this format out; the highest score inspects the file. */
  sniff(head: Uint8Array, key: string): number;
  inspect(store: Store, key: string, opts: InspectOptions): Promise<Inspection>;
}

/** Bytes read to choose an inspector. */
export const SNIFF_BYTES = 64;

export const inspectors: Inspector[] = [safetensorsInspector, torchInspector, shardedInspector];

/** Inspects `store[key]` with the inspector its first bytes fit best. */
export async function inspectFile(store: Store, key: string, opts: InspectOptions): Promise<Inspection> {
  const size = await store.size(key);
  const head = await store.read(key, { start: 0, end: Math.min(size, SNIFF_BYTES) });
  let best: Inspector | undefined, score = 0;
  for (const i of inspectors) {
    const s = i.sniff(head, key);
    if (s > score) { best = i; score = s; }
  }
  if (!best) {
    throw new UnsupportedError(`${store.describe(key)}: not a format safeckpt can inspect (${inspectors.map((i) => i.format).join(', ')})`, {
      detail: 'UNKNOWN_FORMAT', path: store.describe(key),
    });
  }
  return best.inspect(store, key, opts);
}

/** True when `store[key]` is a folder (a store root included), not a file. */
async function isFolder(store: Store, key: string): Promise<boolean> {
  if (key === '') return true;
  if (store.kind === 'http') return false; // a URL names a file unless it ends with '/' (key '')
  try {
    await store.size(key);
    return false;
  } catch (e) {
    if (!(e instanceof CheckpointError) || (e.detail !== 'EISDIR' && e.code !== 'NOT_FOUND')) throw e;
    // Stores without real folders (memory, idb) have a folder where keys live under it.
    if (e.detail === 'EISDIR' || (await store.list(key).catch(() => [])).length > 0) return true;
    throw e;
  }
}

/**
 * Inspects any source: a file or URL, a sharded model's index, a training
 * checkpoint (its folder, or the root whose LATEST names it), or a folder
 * holding model.safetensors or one index (as transformers looks for them).
 */
export async function inspectSource(store: Store, key: string, opts: InspectOptions): Promise<Inspection> {
  if (!(await isFolder(store, key))) return inspectFile(store, key, opts);
  if (await isCheckpointFolder(store, key)) return inspectCheckpoint(store, key, opts);
  const found = await locateModel(store, key);
  if (found.key === key) {
    throw new NotFoundError(`${store.describe(key)} holds no model.safetensors, no *.safetensors.index.json and no single .safetensors file to inspect (pass a file)`, {
      path: store.describe(key),
    });
  }
  return inspectFile(store, found.key, opts);
}

/** The human-readable report. */
export function describeInspection(r: Inspection): string {
  const total = r.tensors.reduce((a, t) => a + t.byteLength, 0);
  const out = [`${r.path}  ${r.format}, ${plural(r.tensors.length, 'tensor')}, ${bytes(r.size)} (${bytes(total)} of tensor data)`];
  for (const [k, v] of Object.entries(r.details ?? {})) out.push(`  ${k}: ${v}`);
  const byDtype = new Map<string, { n: number; bytes: number }>();
  for (const t of r.tensors) {
    const d = byDtype.get(t.dtype) ?? { n: 0, bytes: 0 };
    d.n++;
    d.bytes += t.byteLength;
    byDtype.set(t.dtype, d);
  }
  if (byDtype.size) out.push(`  dtypes: ${[...byDtype].map(([d, v]) => `${d} × ${v.n} (${bytes(v.bytes)})`).join(', ')}`);
  const meta = Object.entries(r.metadata ?? {});
  out.push(meta.length ? 'metadata:' : 'metadata: none');
  for (const [k, v] of meta) out.push(`  ${k}: ${v.length > 200 ? JSON.stringify(v.slice(0, 200)) + ` … (${v.length} chars)` : JSON.stringify(v)}`);
  if (r.tensors.length) {
    out.push('tensors:');
    const shape = (t: InspectedTensor) => `[${t.shape.join(', ')}]`;
    const w = Math.min(60, Math.max(4, ...r.tensors.map((t) => t.name.length)));
    const ws = Math.max(5, ...r.tensors.map((t) => shape(t).length));
    const wd = Math.max(5, ...r.tensors.map((t) => t.dtype.length));
    const wf = Math.max(0, ...r.tensors.map((t) => (t.file ? t.file.length + 2 : 0)));
    const file = (t: { file?: string }) => (wf ? `  ${(t.file ?? '').padEnd(wf - 2)}` : '');
    out.push(`  ${'name'.padEnd(w)}  ${'dtype'.padEnd(wd)}  ${'shape'.padEnd(ws)}  ${'bytes'.padStart(10)}${file({ file: 'file' })}${r.tensors[0].sha256 ? '  sha256' : ''}`);
    for (const t of r.tensors) {
      out.push(`  ${t.name.padEnd(w)}  ${t.dtype.padEnd(wd)}  ${shape(t).padEnd(ws)}  ${String(t.byteLength).padStart(10)}${file(t)}${t.sha256 ? '  ' + t.sha256 : ''}`);
    }
  }
  return out.join('\n');
}

export const inspect: Command = {
  usage: 'inspect <file|dir|url> [--json] [--digests]',
  summary: 'header, dtypes, shapes, sizes and metadata of a weights file, sharded model or URL',
  help: `
Shows what a weights source holds without loading it: format, tensors (dtype, shape, bytes), metadata, and
for a training checkpoint its step, model, lineage, files and metrics. Reads only the header (8 bytes, then
exactly its length) unless --digests asks for the tensors.

  <file|dir|url>   a safetensors file, a sharded model (index or folder), a PyTorch .pt, a checkpoint folder
                   (or the root whose LATEST names one), or an http(s): URL
  --digests        add each tensor's SHA-256 over its contiguous little-endian bytes (any format)
  --json           print the inspection (or the error) as one JSON object on the last line

Exit codes: 0 ok, 1 unreadable (code + message), 2 usage.`,
  async run(args) {
    const p = parseArgs(args, { flags: ['--json', '--digests'] });
    if (p.positionals.length !== 1) throw new UsageError('expected exactly one file, folder or URL');
    const { store, key } = resolveSource(p.positionals[0]);
    const json = p.flags.has('--json');
    const bar = p.flags.has('--digests') && !json ? progressBar('hashing') : { done() {} };
    try {
      const r = await inspectSource(store, key, { digests: p.flags.has('--digests'), onProgress: 'onProgress' in bar ? bar.onProgress : undefined });
      bar.done();
      console.log(json ? JSON.stringify({ ok: true, ...r }) : describeInspection(r));
      return 0;
    } finally {
      bar.done();
    }
  },
};

// `safeckpt inspect <file|dir|url> [--json] [--digests]`: prints what src/sources/inspect.ts finds —
// format, tensors (dtype, shape, size), metadata — without loading the data.
import type { Command } from './commands.js';
import { parseArgs, sourceFrom, TIMEOUT_OPTION } from './args.js';
import { UsageError } from './usage.js';
import { progressBar } from './progress.js';
import { plural, byteSize as bytes } from './text.js';
import { inspectSource, type Inspection, type InspectedTensor } from '../sources/inspect.js';

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
  usage: 'inspect <file|dir|url> [--json] [--digests] [--timeout S]',
  summary: 'header, dtypes, shapes, sizes and metadata of a weights file, sharded model or URL',
  help: `
Shows what a weights source holds without loading it: format, tensors (dtype, shape, bytes), metadata, and
for a training checkpoint its step, model, lineage, files and metrics. Reads only the header (8 bytes, then
exactly its length) unless --digests asks for the tensors.

  <file|dir|url>   a safetensors file, a sharded model (index or folder), a PyTorch .pt, a checkpoint folder
                   (or the root whose LATEST names one), or an http(s): URL
  --digests        add each tensor's SHA-256 over its contiguous little-endian bytes (any format)
  --json           print the inspection (or the error) as one JSON object on the last line
  --timeout S      an http(s): request fails (IO, detail TIMEOUT) after S seconds without an answer or progress (default 30)

Exit codes: 0 ok, 1 unreadable (code + message), 2 usage.`,
  async run(args) {
    const p = parseArgs(args, { flags: ['--json', '--digests'], options: [TIMEOUT_OPTION] });
    if (p.positionals.length !== 1) throw new UsageError('expected exactly one file, folder or URL');
    const { store, key } = sourceFrom(p, p.positionals[0]);
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

// `safeckpt diff <a> <b> [--json] [--key-env VAR]`: tensors added, removed and
// changed (dtype, shape, bytes; max |a−b| for float tensors) between two
// weights sources of any format. Exit 0 when identical, 1 when they differ,
// 2 usage, 3 when a source cannot be read or fails verification (as cmp and
// diff, "different" is not an error).
import type { Command } from './commands.js';
import { parseArgs, keyFromEnv } from './args.js';
import { UsageError } from './usage.js';
import { plural } from './text.js';
import { diffTensors, type TensorDiff, type TensorSummary } from '../sources/diff.js';

const shape = (s: readonly number[]) => `[${s.join(', ')}]`;
const tensor = (t: TensorSummary) => `${t.dtype} ${shape(t.shape)}`;
/** Six significant digits: enough to tell rounding noise (1e-7) from a real change. */
const num = (x: number) => String(Number(x.toPrecision(6)));

export function describeDiff(d: TensorDiff): string {
  const out = [`--- ${d.a.path} (${d.a.format}, ${plural(d.a.tensors, 'tensor')})`, `+++ ${d.b.path} (${d.b.format}, ${plural(d.b.tensors, 'tensor')})`];
  for (const t of d.removed) out.push(`- ${t.name}  ${tensor(t)}`);
  for (const t of d.added) out.push(`+ ${t.name}  ${tensor(t)}`);
  for (const c of d.changed) {
    const what: string[] = [];
    if (c.changes.includes('dtype')) what.push(`dtype ${c.a.dtype} → ${c.b.dtype}`);
    if (c.changes.includes('shape')) what.push(`shape ${shape(c.a.shape)} → ${shape(c.b.shape)}`);
    if (c.changes.includes('bytes')) what.push(`bytes differ (${c.a.dtype} ${shape(c.a.shape)})`);
    if (c.maxAbsDiff !== undefined) what.push(`max |a-b| ${num(c.maxAbsDiff)}`);
    if (c.nonFiniteMismatches) what.push(`${c.nonFiniteMismatches} NaN/inf mismatches`);
    out.push(`~ ${c.name}  ${what.join(', ')}`);
  }
  out.push(d.identical
    ? `identical: ${plural(d.unchanged, 'tensor')}, same names, dtypes, shapes and bytes`
    : `${d.added.length} added, ${d.removed.length} removed, ${d.changed.length} changed, ${d.unchanged} unchanged`);
  return out.join('\n');
}

export const diff: Command = {
  usage: 'diff <a> <b> [--json] [--key-env VAR]',
  summary: 'tensors added, removed and changed between two weights files (max abs difference)',
  help: `
Compares two weights sources of any format — safetensors files, sharded models, .pt files, training
checkpoints (their model weights), URLs — tensor by tensor: added, removed, dtype or shape changed, bytes
changed with the largest |a-b| for float tensors. Sources with a sidecar are verified as they are read.

  --key-env VAR    check the sidecars' HMAC with the key in environment variable VAR
  --json           print the diff (or the error) as one JSON object on the last line

Exit codes: 0 identical, 1 different, 2 usage, 3 failed (a source unreadable or failing verification).`,
  errorExit: 3,
  async run(args) {
    const p = parseArgs(args, { flags: ['--json'], options: ['--key-env'] });
    if (p.positionals.length !== 2) throw new UsageError('expected two files, folders or URLs');
    const d = await diffTensors(p.positionals[0], p.positionals[1], { key: keyFromEnv(p, false) });
    console.log(p.flags.has('--json') ? JSON.stringify({ ok: true, ...d }) : describeDiff(d));
    return d.identical ? 0 : 1;
  },
};

// `safeckpt verify <file|dir|url> [--key-env VAR] [--json] [--strict]`
import type { Command } from './commands.js';
import { parseArgs, keyFromEnv } from './args.js';
import { UsageError } from './usage.js';
import { progressBar } from './progress.js';
import { verify as verifyModel, type VerifyReport } from '../format/verify.js';

function size(n: number): string {
  return n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KiB` : n < 1073741824 ? `${(n / 1048576).toFixed(1)} MiB` : `${(n / 1073741824).toFixed(2)} GiB`;
}

export function describeReport(r: VerifyReport): string {
  const lines = [`OK  ${r.path}  (${r.kind}, ${r.tensors} tensors, ${size(r.size)}${r.files ? `, ${r.files.length} shards` : ''})`];
  lines.push(`  data     ${r.sidecar === 'verified' ? 'every byte matches the sidecar' + (r.sha256 ? ` (sha256 ${r.sha256})` : '') : 'NOT checked: no sidecar (structure only)'}`);
  lines.push(`  hmac     ${r.hmac === 'verified' ? 'verified' : r.hmac === 'not-checked' ? 'present, not checked (pass --key-env VAR)' : 'none (unsigned)'}${r.keyId ? ` (key_id ${r.keyId})` : ''}`);
  for (const w of r.warnings) lines.push(`  warning  ${w}`);
  return lines.join('\n');
}

export const verify: Command = {
  usage: 'verify <file|dir|url> [--key-env VAR] [--json] [--strict]',
  summary: 'check a safetensors file or sharded model against its sidecar (and HMAC)',
  async run(args) {
    const p = parseArgs(args, { flags: ['--json', '--strict'], options: ['--key-env'] });
    if (p.positionals.length !== 1) throw new UsageError('expected exactly one file, folder or URL');
    const key = keyFromEnv(p, false);
    const bar = p.flags.has('--json') ? { done() {} } : progressBar('verifying');
    try {
      const r = await verifyModel(p.positionals[0], { key, strict: p.flags.has('--strict'), onProgress: bar.onProgress });
      bar.done();
      console.log(p.flags.has('--json') ? JSON.stringify(r) : describeReport(r));
      return 0;
    } finally {
      bar.done();
    }
  },
};

// `safeckpt verify <file|dir|url> [--key-env VAR] [--public-key FILE] [--json] [--strict] [--whole-file] [--timeout S]`
import type { Command } from './commands.js';
import { parseArgs, keyFromEnv, readKeyFile, sourceFrom, TIMEOUT_OPTION } from './args.js';
import { UsageError } from './usage.js';
import { progressBar } from './progress.js';
import { plural, byteSize } from './text.js';
import { verify as verifyModel, type VerifyReport } from '../sources/verify.js';
import { interruptible } from './interrupt.js';

export function describeReport(r: VerifyReport): string {
  const lines = [`OK  ${r.path}  (${r.kind}, ${plural(r.tensors, 'tensor')}, ${byteSize(r.size)}${r.files ? `, ${plural(r.files.length, 'shard')}` : ''})`];
  const sha = r.sha256 ? ` (sha256 ${r.sha256}${r.sha256Checked === false ? ', as recorded' : ''})` : '';
  lines.push(`  data     ${r.sidecar === 'verified' ? 'every byte matches the sidecar' + sha : 'NOT checked: no sidecar (structure only)'}`);
  lines.push(`  hmac     ${r.hmac === 'verified' ? 'verified' : r.hmac === 'not-checked' ? 'present, not checked (pass --key-env VAR)' : 'none (unsigned)'}${r.keyId ? ` (key_id ${r.keyId})` : ''}`);
  const by = r.signedBy.length ? ` (keyid ${r.signedBy.join(', ')})` : '';
  lines.push(`  ed25519  ${r.signature === 'verified' ? 'verified with the public key given' : r.signature === 'not-checked' ? 'signed, not checked (pass --public-key FILE)' : 'none'}${by}`);
  for (const w of r.warnings) lines.push(`  warning  ${w}`);
  return lines.join('\n');
}

export const verify: Command = {
  usage: 'verify <file|dir|url> [--key-env VAR] [--public-key FILE] [--json] [--strict] [--whole-file] [--timeout S]',
  summary: 'check a safetensors file or sharded model against its sidecar (and HMAC)',
  help: `
Checks the structure of a safetensors file (or a sharded model: its index, or a folder holding one), every
byte against the SHA-256 in its sidecar NAME.safetensors.meta.json, and the sidecar's HMAC when a key is given.

  <file|dir|url>   a path, file: URL or http(s): URL (range requests)
  --key-env VAR    read the HMAC key from environment variable VAR (never from the command line)
  --public-key FILE  require a valid Ed25519 signature by this public key (PEM: NAME.pub from
                   \`safeckpt keygen\`, or \`openssl pkey -pubout\`) on every sidecar or the manifest
  --strict         refuse a file without a sidecar (INTEGRITY) instead of checking its structure only
  --whole-file     also recompute the whole-file SHA-256 the sidecar records (by default the header's and
                   tensors' digests bind every byte and it is recomputed only when they do not tile the file)
  --json           print the report (or the error) as one JSON object on the last line
  --timeout S      an http(s): request fails (IO, detail TIMEOUT) after S seconds without an answer or progress (default 30)

Exit codes: 0 valid, 1 invalid (code + message: NOT_FOUND, CORRUPT, INTEGRITY, AUTH, …), 2 usage.`,
  async run(args) {
    const p = parseArgs(args, { flags: ['--json', '--strict', '--whole-file'], options: ['--key-env', '--public-key', TIMEOUT_OPTION] });
    if (p.positionals.length !== 1) throw new UsageError('expected exactly one file, folder or URL');
    const key = keyFromEnv(p, false);
    const publicKey = await readKeyFile(p, '--public-key');
    const bar = p.flags.has('--json') ? { done() {} } : progressBar('verifying');
    const stop = interruptible();
    try {
      const r = await verifyModel(sourceFrom(p, p.positionals[0]), { key, publicKey, strict: p.flags.has('--strict'), wholeFile: p.flags.has('--whole-file'), onProgress: bar.onProgress, signal: stop.signal });
      bar.done();
      console.log(p.flags.has('--json') ? JSON.stringify(r) : describeReport(r));
      return 0;
    } finally {
      bar.done();
      stop.done();
    }
  },
};

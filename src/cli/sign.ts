// `safeckpt sign <file|dir> [--key-env VAR [--key-id ID]] [--private-key FILE] [--json]`
import type { Command } from './commands.js';
import { parseArgs, keyFromEnv, readKeyFile } from './args.js';
import { UsageError } from './usage.js';
import { progressBar } from './progress.js';
import { sign as signModel } from '../sources/sign.js';
import { interruptible } from './interrupt.js';

export const sign: Command = {
  usage: 'sign <file|dir> [--key-env VAR] [--key-id ID] [--private-key FILE] [--json]',
  summary: 'write signed sidecars (HMAC and/or Ed25519) for a safetensors file, sharded model or checkpoint',
  help: `
Writes NAME.safetensors.meta.json (SHA-256 of the file, of its header and of every tensor, plus an HMAC and/or
an Ed25519 signature over them) for a file made elsewhere; a sharded model gets one per shard and one for its
index. An existing sidecar that no longer matches its file is refused: a changed file is never signed.
Signatures by other keys stay while the sidecar's contents are unchanged. A training checkpoint (folder or
root) gets an Ed25519 signature on its manifest, after every file was checked against it.

  <file|dir>          a safetensors file, an index, a folder holding one, or a checkpoint
  --key-env VAR       read the HMAC key from environment variable VAR (the key is written nowhere)
  --key-id ID         a label for the HMAC key, stored next to the HMAC
  --private-key FILE  sign with this Ed25519 private key (PEM, as \`safeckpt keygen\` or
                      \`openssl genpkey -algorithm ed25519\` write it); anyone verifies with the public key
At least one of --key-env and --private-key is required.
  --json           print the result (or the error) as one JSON object on the last line

Exit codes: 0 signed, 1 failed (code + message), 2 usage.`,
  async run(args) {
    const p = parseArgs(args, { flags: ['--json'], options: ['--key-env', '--key-id', '--private-key'] });
    if (p.positionals.length !== 1) throw new UsageError('expected exactly one file or folder');
    if (!p.options.has('--key-env') && !p.options.has('--private-key')) throw new UsageError('--key-env VAR (HMAC) or --private-key FILE (Ed25519) is required');
    const key = keyFromEnv(p, false);
    const privateKey = await readKeyFile(p, '--private-key');
    const bar = p.flags.has('--json') ? { done() {} } : progressBar('signing');
    const stop = interruptible();
    try {
      const r = await signModel(p.positionals[0], { key, privateKey, keyId: p.options.get('--key-id'), onProgress: bar.onProgress, signal: stop.signal });
      bar.done();
      if (p.flags.has('--json')) console.log(JSON.stringify({ ok: true, ...r }));
      else console.log(`signed ${r.path}${r.keyid ? ` (Ed25519 keyid ${r.keyid})` : ''}\n${r.sidecars.map((s) => `  wrote ${s}`).join('\n')}`);
      return 0;
    } finally {
      bar.done();
      stop.done();
    }
  },
};

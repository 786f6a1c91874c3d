// `safeckpt sign <file|dir> --key-env VAR [--key-id ID] [--json]`
import type { Command } from './commands.js';
import { parseArgs, keyFromEnv } from './args.js';
import { UsageError } from './usage.js';
import { progressBar } from './progress.js';
import { sign as signModel } from '../sources/verify.js';
import { interruptible } from './interrupt.js';

export const sign: Command = {
  usage: 'sign <file|dir> --key-env VAR [--key-id ID] [--json]',
  summary: 'write HMAC-signed sidecars for a safetensors file or sharded model',
  help: `
Writes NAME.safetensors.meta.json (SHA-256 of the file, of its header and of every tensor, plus an HMAC over
them) for a file made elsewhere; a sharded model gets one per shard and one for its index. An existing
sidecar that no longer matches its file is refused: a changed file is never signed.

  <file|dir>       a safetensors file, an index, or a folder holding one
  --key-env VAR    read the HMAC key from environment variable VAR (required; the key is written nowhere)
  --key-id ID      a label for the key, stored next to the HMAC
  --json           print the result (or the error) as one JSON object on the last line

Exit codes: 0 signed, 1 failed (code + message), 2 usage.`,
  async run(args) {
    const p = parseArgs(args, { flags: ['--json'], options: ['--key-env', '--key-id'] });
    if (p.positionals.length !== 1) throw new UsageError('expected exactly one file or folder');
    const key = keyFromEnv(p, true)!;
    const bar = p.flags.has('--json') ? { done() {} } : progressBar('signing');
    const stop = interruptible();
    try {
      const r = await signModel(p.positionals[0], key, { keyId: p.options.get('--key-id'), onProgress: bar.onProgress, signal: stop.signal });
      bar.done();
      if (p.flags.has('--json')) console.log(JSON.stringify({ ok: true, ...r }));
      else console.log(`signed ${r.path}\n${r.sidecars.map((s) => `  wrote ${s}`).join('\n')}`);
      return 0;
    } finally {
      bar.done();
      stop.done();
    }
  },
};

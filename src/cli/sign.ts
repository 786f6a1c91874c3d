// `safeckpt sign <file|dir> --key-env VAR [--key-id ID] [--json]`
import type { Command } from './commands.js';
import { parseArgs, keyFromEnv } from './args.js';
import { UsageError } from './usage.js';
import { progressBar } from './progress.js';
import { sign as signModel } from '../format/verify.js';

export const sign: Command = {
  usage: 'sign <file|dir> --key-env VAR [--key-id ID] [--json]',
  summary: 'write HMAC-signed sidecars for a safetensors file or sharded model',
  async run(args) {
    const p = parseArgs(args, { flags: ['--json'], options: ['--key-env', '--key-id'] });
    if (p.positionals.length !== 1) throw new UsageError('expected exactly one file or folder');
    const key = keyFromEnv(p, true)!;
    const bar = p.flags.has('--json') ? { done() {} } : progressBar('signing');
    try {
      const r = await signModel(p.positionals[0], key, { keyId: p.options.get('--key-id'), onProgress: bar.onProgress });
      bar.done();
      if (p.flags.has('--json')) console.log(JSON.stringify({ ok: true, ...r }));
      else console.log(`signed ${r.path}\n${r.sidecars.map((s) => `  wrote ${s}`).join('\n')}`);
      return 0;
    } finally {
      bar.done();
    }
  },
};

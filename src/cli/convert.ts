// `safeckpt convert <in.pt> <out.safetensors> [--select PATH | --all] [--key-env VAR] [--key-id ID] [--json]`
// Reads the .pt without executing it; from a whole training checkpoint it takes
// the model's weights (and says so), or the part --select names, or --all.
import type { Command } from './commands.js';
import { parseArgs, keyFromEnv } from './args.js';
import { UsageError } from './usage.js';
import { progressBar } from './progress.js';
import { plural } from './text.js';
import { convertTorchToSafetensors } from '../format/torch/convert.js';
import { interruptible } from './interrupt.js';

export const convert: Command = {
  usage: 'convert <in.pt> <out.safetensors> [--select PATH | --all] [--key-env VAR] [--json]',
  summary: 'convert a PyTorch .pt (read without executing pickle) to safetensors + sidecar',
  help: `
Reads a torch.save file without executing its pickle and writes its tensors as safetensors with a sidecar.
From a whole training checkpoint it takes the model's weights and says so.

  --select PATH    take the tensors under PATH (dotted, e.g. model or optimizer.state) instead
  --all            take every tensor in the file
  --key-env VAR    sign the sidecar with the HMAC key in environment variable VAR
  --key-id ID      a label for the key, stored next to the HMAC
  --verify-crc     check the zip's CRC-32 of every entry read
  --json           print the result (or the error) as one JSON object on the last line

Exit codes: 0 converted, 1 failed (code + message, e.g. UNSAFE_PICKLE naming the refused global), 2 usage.`,
  async run(args) {
    const p = parseArgs(args, { flags: ['--json', '--all', '--verify-crc'], options: ['--select', '--key-env', '--key-id'] });
    if (p.positionals.length !== 2) throw new UsageError('expected an input .pt and an output .safetensors');
    if (p.flags.has('--all') && p.options.has('--select')) throw new UsageError('--select and --all exclude each other');
    const key = keyFromEnv(p, false);
    const json = p.flags.has('--json');
    const bar = json ? { done() {} } : progressBar('converting');
    const stop = interruptible();
    try {
      const r = await convertTorchToSafetensors(p.positionals[0], p.positionals[1], {
        select: p.flags.has('--all') ? '' : p.options.get('--select'),
        key, keyId: p.options.get('--key-id'), verifyCrc: p.flags.has('--verify-crc'), onProgress: bar.onProgress, signal: stop.signal,
      });
      bar.done();
      if (json) {
        console.log(JSON.stringify({ ok: true, ...r, tensors: Object.keys(r.tensors).length, digests: r.tensors }));
      } else {
        const what = r.selected === '' ? 'every tensor in the file' : `'${r.selected}' (${r.reason}; --select PATH or --all for others)`;
        console.log(`converted ${r.source.file} (${r.source.format}, sha256 ${r.source.sha256})`);
        console.log(`  took     ${what}: ${plural(Object.keys(r.tensors).length, 'tensor')}`);
        if (r.skipped.length) console.log(`  skipped  ${plural(r.skipped.length, 'tensor')} outside it (e.g. ${r.skipped.slice(0, 3).join(', ')})`);
        console.log(`  wrote    ${r.path} (${r.size} bytes, sha256 ${r.sha256})${r.sidecar ? `\n  sidecar  ${r.sidecar}` : ''}`);
      }
      return 0;
    } finally {
      bar.done();
      stop.done();
    }
  },
};

// Small argument parsing shared by the subcommands: positionals, boolean flags
// and `--name value` options, with usage errors (exit 2) for anything unknown.
import { UsageError } from './usage.js';

export interface Parsed {
  positionals: string[];
  flags: Set<string>;
  options: Map<string, string>;
}

export function parseArgs(args: string[], spec: { flags?: string[]; options?: string[] }): Parsed {
  const flags = new Set<string>(), options = new Map<string, string>(), positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a.startsWith('--')) {
      const [name, inline] = a.split(/=(.*)/s, 2);
      if (spec.flags?.includes(name)) flags.add(name);
      else if (spec.options?.includes(name)) {
        const v = inline ?? args[++i];
        if (v === undefined) throw new UsageError(`${name} needs a value`);
        options.set(name, v);
      } else throw new UsageError(`unknown option ${name}`);
    } else positionals.push(a);
  }
  return { positionals, flags, options };
}

/** The HMAC key from the environment variable named by --key-env (never from the command line, where `ps` shows it). */
export function keyFromEnv(p: Parsed, required: boolean): string | undefined {
  const name = p.options.get('--key-env');
  if (name === undefined) {
    if (required) throw new UsageError('--key-env VAR is required (the key is read from the environment variable VAR)');
    return undefined;
  }
  const v = process.env[name];
  if (v === undefined || v === '') throw new UsageError(`environment variable ${name} (from --key-env) is not set or empty`);
  return v;
}

// Small argument parsing shared by the subcommands: positionals, boolean flags
// (`--json`, also `--json=1|true|yes` and `--json=0|false|no`) and
// `--name value` / `--name=value` options, with usage errors (exit 2) for
// anything unknown — naming the closest known option.
import { UsageError, suggestion } from './usage.js';
import { resolveSource, type StoreRef } from '../store/resolve.js';
import { IoError, NotFoundError } from '../errors.js';

export interface Parsed {
  positionals: string[];
  flags: Set<string>;
  options: Map<string, string>;
}

export interface ArgSpec {
  flags?: readonly string[];
  options?: readonly string[];
}

const TRUE = ['', '1', 'true', 'yes', 'on'];
const FALSE = ['0', 'false', 'no', 'off'];

/** What `--flag=value` means: true, false, or undefined when the value is neither. */
export function flagValue(inline: string | undefined): boolean | undefined {
  const v = (inline ?? '').toLowerCase();
  return TRUE.includes(v) ? true : FALSE.includes(v) ? false : undefined;
}

/** True when the arguments ask for JSON output (`--json`, `--json=1`, `--json=true`, …), whatever else is wrong with them. */
export function wantsJson(args: readonly string[]): boolean {
  let on = false;
  for (const a of args) {
    if (a === '--') break;
    if (a === '--json' || a.startsWith('--json=')) on = flagValue(a.slice(7)) ?? true;
  }
  return on;
}

export function parseArgs(args: string[], spec: ArgSpec): Parsed {
  const flags = new Set<string>(), options = new Map<string, string>(), positionals: string[] = [];
  const known = [...(spec.flags ?? []), ...(spec.options ?? []), '--help'];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') { positionals.push(...args.slice(i + 1)); break; }
    if (a.startsWith('-') && a.length > 1 && !/^-\d/.test(a)) {
      const [name, inline] = a.split(/=(.*)/s, 2);
      if (spec.flags?.includes(name)) {
        const on = flagValue(inline);
        if (on === undefined) throw new UsageError(`${name} is a switch: give it no value, or one of ${[...TRUE.slice(1), ...FALSE].join(', ')} (found '${inline}')`);
        if (on) flags.add(name);
        else flags.delete(name);
      } else if (spec.options?.includes(name)) {
        const v = inline ?? args[++i];
        if (v === undefined) throw new UsageError(`${name} needs a value`);
        options.set(name, v);
      } else throw new UsageError(`unknown option ${name}${suggestion(name, known)}`);
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

/** `--timeout SECONDS`: how long an HTTP request may go without progress (default 30 s). */
export const TIMEOUT_OPTION = '--timeout';

/** The store a command argument names, with `--timeout` applied to URLs. */
export function sourceFrom(p: Parsed, arg: string): StoreRef {
  const t = p.options.get(TIMEOUT_OPTION);
  let timeoutMs: number | undefined;
  if (t !== undefined) {
    const s = Number(t);
    if (!(s > 0) || !Number.isFinite(s)) throw new UsageError(`${TIMEOUT_OPTION} needs a positive number of seconds, got '${t}'`);
    timeoutMs = s * 1000;
  }
  return resolveSource(arg, timeoutMs === undefined ? {} : { http: { timeoutMs } });
}

/** A key file named by `--private-key` / `--public-key`: its bytes, NOT_FOUND naming the file when it is missing. */
export async function readKeyFile(p: Parsed, option: string): Promise<Uint8Array | undefined> {
  const file = p.options.get(option);
  if (file === undefined) return undefined;
  const { readFile } = await import('node:fs/promises');
  try {
    return new Uint8Array(await readFile(file));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException)?.code;
    if (code === 'ENOENT') throw new NotFoundError(`${file} (from ${option}) does not exist`, { path: file, detail: 'KEY_FILE', cause: e });
    throw new IoError(`${file} (from ${option}) cannot be read: ${(e as Error)?.message ?? e}`, { path: file, detail: 'KEY_FILE', cause: e });
  }
}

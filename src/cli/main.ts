#!/usr/bin/env node
// The `safeckpt` command. Each subcommand lives in its own file under src/cli/;
// this file only dispatches, prints help and usage errors, and turns errors
// into exit codes: 0 success, 1 invalid input or failure (a CheckpointError;
// `diff` uses 1 for "different" and 3 for failures), 2 usage.
//
// Conventions: help asked for goes to stdout (exit 0); a usage error goes to
// stderr (exit 2) and, under --json (also --json=1 / --json=true), one JSON
// object {ok:false, code:'USAGE', message, usage} is the last line of stdout,
// as for every other failure.
import { readFileSync } from 'node:fs';
import { CheckpointError, IoError } from '../errors.js';
import { commands, type Command } from './commands.js';
import { UsageError, suggestion } from './usage.js';
import { wantsJson } from './args.js';
import { EXIT_INTERRUPTED } from './interrupt.js';

export { UsageError };

/** Exit codes, the same for every command (diff: DIFFERENT for "the inputs differ", FAILED_DIFF for errors). */
export const EXIT = { OK: 0, FAILED: 1, DIFFERENT: 1, USAGE: 2, FAILED_DIFF: 3 } as const;

export const USAGE = `usage: safeckpt <command> [options]

commands:
${Object.entries(commands).map(([name, c]) => `  ${name.padEnd(9)} ${c.summary}`).join('\n')}

  safeckpt help <command>   (or safeckpt <command> --help): its arguments, options and exit codes
  safeckpt --version

Exit codes: 0 ok, 1 invalid or failed (code + message), 2 usage error; diff: 0 identical, 1 different, 3 failed.
With --json the last line of stdout is one JSON object; on failure {"ok":false,"code":…,"message":…}.`;

const HELP_FLAGS = ['--help', '-h'];
const VERSION_FLAGS = ['--version', '-V', '-v'];

function version(): string {
  // dist/cli/main.js → the package's own package.json, which every install has.
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

function commandHelp(name: string, c: Command): string {
  return `usage: safeckpt ${c.usage}\n\n${c.summary}\n\n${c.help.trim()}`;
}

/**
 * A usage error: the message and `help` on stderr, and under --json one JSON
 * object on stdout whose `usage` is the one-line synopsis.
 */
function usageError(message: string, synopsis: string, help: string, json: boolean): number {
  console.error(`safeckpt: ${message}\n${help}`);
  if (json) console.log(JSON.stringify({ ok: false, code: 'USAGE', message, usage: synopsis }));
  return EXIT.USAGE;
}

const TOP = 'safeckpt <command> [options]';

async function main(argv: string[]): Promise<number> {
  const json = wantsJson(argv);
  // `safeckpt --json verify x` is `safeckpt verify x --json`.
  const lead = argv.findIndex((a) => !(a === '--json' || a.startsWith('--json=')));
  const [name, ...rest] = lead < 0 ? [] : [argv[lead], ...argv.slice(lead + 1), ...argv.slice(0, lead)];
  const names = Object.keys(commands);
  if (name === undefined) return usageError('no command given', TOP, USAGE, json);
  if (HELP_FLAGS.includes(name)) {
    console.log(USAGE);
    return EXIT.OK;
  }
  if (VERSION_FLAGS.includes(name) || name === 'version') {
    console.log(json ? JSON.stringify({ ok: true, version: version() }) : `safeckpt ${version()}`);
    return EXIT.OK;
  }
  if (name === 'help') {
    const topic = rest.find((a) => !a.startsWith('-'));
    if (topic === undefined) {
      console.log(USAGE);
      return EXIT.OK;
    }
    const c = commands[topic];
    if (!c) return usageError(`no help for unknown command '${topic}'${suggestion(topic, names)}`, TOP, USAGE, json);
    console.log(commandHelp(topic, c));
    return EXIT.OK;
  }
  const cmd = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!cmd) {
    const what = name.startsWith('-') ? `unknown option ${name} before the command` : `unknown command '${name}'`;
    return usageError(`${what}${suggestion(name, name.startsWith('-') ? [...HELP_FLAGS, ...VERSION_FLAGS] : names)}`, TOP, "run 'safeckpt help' for the list of commands", json);
  }
  const dashdash = rest.indexOf('--');
  if (rest.slice(0, dashdash < 0 ? undefined : dashdash).some((a) => HELP_FLAGS.includes(a))) {
    console.log(commandHelp(name, cmd));
    return EXIT.OK;
  }
  try {
    return await cmd.run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      return usageError(`${name}: ${e.message}`, `safeckpt ${cmd.usage}`, `usage: safeckpt ${cmd.usage}\n(safeckpt help ${name} for every option)`, json);
    }
    const err = e instanceof CheckpointError ? e : new IoError(`unexpected failure: ${String(e)}`, { cause: e });
    if (json) console.log(JSON.stringify(err.toJSON()));
    else console.error(`safeckpt ${name}: ${err.code}: ${err.message}`);
    if (err.detail === 'INTERRUPTED') return EXIT_INTERRUPTED;
    return cmd.errorExit ?? EXIT.FAILED;
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});

#!/usr/bin/env node
// The `safeckpt` command. Each subcommand lives in its own file under src/cli/;
// this file only dispatches and turns errors into exit codes:
// 0 success, 1 invalid input (a CheckpointError), 2 usage.
import { CheckpointError } from '../errors.js';
import { commands } from './commands.js';
import { UsageError } from './usage.js';

export { UsageError };

export const USAGE = `usage: safeckpt <command> [options]

commands:
${Object.entries(commands).map(([name, c]) => `  ${c.usage.padEnd(58)} ${c.summary}`).join('\n')}

Exit codes: 0 ok, 1 invalid or failed (code + message), 2 usage error.`;


async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(USAGE);
    return name ? 0 : 2;
  }
  const cmd = commands[name];
  if (!cmd) {
    console.error(`safeckpt: unknown command '${name}'\n\n${USAGE}`);
    return 2;
  }
  const json = rest.includes('--json');
  try {
    return await cmd.run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`safeckpt ${name}: ${e.message}\nusage: safeckpt ${cmd.usage}`);
      return 2;
    }
    const err = e instanceof CheckpointError ? e : new CheckpointError('IO', `unexpected failure: ${String(e)}`, { cause: e });
    if (json) console.log(JSON.stringify(err.toJSON()));
    else console.error(`safeckpt ${name}: ${err.code}: ${err.message}`);
    return 1;
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});

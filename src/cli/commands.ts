// The table of subcommands: one file each, registered here.
import { demo } from './demo.js';
import { verify } from './verify.js';
import { sign } from './sign.js';
import { inspect } from './inspect.js';
import { convert } from './convert.js';
import { diff } from './diff.js';

export interface Command {
  usage: string;
  summary: string;
  run(args: string[]): Promise<number>;
}

export const commands: Record<string, Command> = {
  demo,
  verify,
  sign,
  inspect,
  convert,
  diff,
};

// The table of subcommands: one file each, registered here.
import { demo } from './demo.js';
import { verify } from './verify.js';
import { sign } from './sign.js';
import { inspect } from './inspect.js';
import { convert } from './convert.js';
import { diff } from './diff.js';
import { abortUploads } from './abort-uploads.js';
import { keygen } from './keygen.js';

export interface Command {
  /** The synopsis after `safeckpt `, e.g. `verify <file|dir|url> [--json]`. */
  usage: string;
  /** One line for the command list. */
  summary: string;
  /** What `safeckpt help CMD` and `CMD --help` print after the synopsis: arguments, options, exit codes. */
  help: string;
  /** The exit code for a failure (a CheckpointError); 1 unless 1 means something else (diff: "different"). */
  errorExit?: number;
  run(args: string[]): Promise<number>;
}

// In the order `safeckpt --help` lists them: the everyday commands first, the demo last.
export const commands: Record<string, Command> = {
  inspect,
  verify,
  sign,
  keygen,
  convert,
  diff,
  'abort-uploads': abortUploads,
  demo,
};

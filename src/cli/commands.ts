// The table of subcommands: one file each, registered here.
import { demo } from './demo.js';

export interface Command {
  usage: string;
  summary: string;
  run(args: string[]): Promise<number>;
}

export const commands: Record<string, Command> = {
  demo,
};

// The usage error every subcommand throws for bad arguments: main.ts prints the
// command's usage line and exits with 2.
export class UsageError extends Error {}

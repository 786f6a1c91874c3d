// Ctrl-C during a long command (verify, sign, convert, inspect --digests): the first SIGINT aborts the
// operation through its AbortSignal — it stops at its next step and removes what it was writing, as on any
// abort — and the command ends with IO/INTERRUPTED, exit code 130; a second SIGINT ends the process at once.
import { IoError } from '../errors.js';

/** Exit code of a command stopped by Ctrl-C (128 + SIGINT, as shells report it). */
export const EXIT_INTERRUPTED = 130;

/** A signal aborted by the first Ctrl-C while the command runs; `done()` gives SIGINT back. */
export function interruptible(): { signal: AbortSignal; done(): void } {
  const c = new AbortController();
  const onInterrupt = () => {
    process.off('SIGINT', onInterrupt);
    c.abort(new IoError('interrupted (Ctrl-C): the operation stopped, and nothing it was writing is left under its final name', { detail: 'INTERRUPTED' }));
  };
  process.on('SIGINT', onInterrupt);
  return { signal: c.signal, done: () => process.off('SIGINT', onInterrupt) };
}

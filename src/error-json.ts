// Errors as plain data, to cross a thread boundary (postMessage clones no class): the hashing workers and
// the checkpoint commit worker send them, their hosts make the typed error again. Its own file, beside
// errors.ts: only code that starts workers uses it, and a page loads that code when it starts workers.
import { CheckpointError, ERROR_CODES, IoError, errorFor, type ErrorCode } from './errors.js';

/**
 * An error as plain data, to cross a thread boundary (postMessage clones no class): a CheckpointError keeps
 * its code and fields, anything else only its message. `errorFromJSON` turns it back into the typed error.
 */
export function errorToJSON(e: unknown): Record<string, unknown> {
  if (e instanceof CheckpointError) return e.toJSON();
  return { message: String((e as Error)?.message ?? e) };
}

/**
 * The typed error that `errorToJSON` (or `toJSON`) described, made again on this thread; data from an unknown
 * code or a foreign error becomes an IoError naming `what` failed (detail `WORKER`).
 */
export function errorFromJSON(json: Record<string, unknown>, what: string): CheckpointError {
  const message = String(json.message ?? `${what} failed`);
  if (ERROR_CODES.includes(json.code as ErrorCode)) {
    return errorFor(json.code as ErrorCode, message, {
      detail: json.detail as string | undefined, path: json.path as string | undefined, tensor: json.tensor as string | undefined,
      position: json.position as number | undefined, data: json.data,
    });
  }
  return new IoError(`${what} failed: ${message}`, { detail: 'WORKER' });
}

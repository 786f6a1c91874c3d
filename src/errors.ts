/**
 * Every failure safeckpt reports is a CheckpointError with a stable `code`.
 * Subclasses group codes by what the caller does next; `detail` carries the
 * reference implementation's finer error name where there is one
 * (HEADER_TOO_LARGE, INVALID_OFFSET, …) and `cause` the underlying error.
 */
export type ErrorCode =
  | 'NOT_FOUND'
  | 'CORRUPT'
  | 'INTEGRITY'
  | 'AUTH'
  | 'SHAPE_MISMATCH'
  | 'DTYPE_MISMATCH'
  | 'ARCH_MISMATCH'
  | 'UNSAFE_PICKLE'
  | 'UNSUPPORTED'
  | 'IO';

/** Every error code, in the order DESIGN.md lists them. */
export const ERROR_CODES: readonly ErrorCode[] = [
  'NOT_FOUND', 'CORRUPT', 'INTEGRITY', 'AUTH', 'SHAPE_MISMATCH', 'DTYPE_MISMATCH',
  'ARCH_MISMATCH', 'UNSAFE_PICKLE', 'UNSUPPORTED', 'IO',
];

/** What an error carries besides its code and message: detail, path, tensor, position, data, cause. */
export interface CheckpointErrorOptions {
  /** Finer, format-level reason (e.g. `INVALID_OFFSET`). */
  detail?: string;
  /** The file, URL or store key the error is about. */
  path?: string;
  /** The tensor the error is about. */
  tensor?: string;
  /** Byte position in the file, where one applies. */
  position?: number;
  /** Machine-readable extras (e.g. the list of mismatches). */
  data?: unknown;
  cause?: unknown;
}

/** Every failure safeckpt reports: a stable `code` (the contract), a message saying what to do, and the file or tensor it is about; one subclass per family. */
export class CheckpointError extends Error {
  readonly code: ErrorCode;
  readonly detail?: string;
  readonly path?: string;
  readonly tensor?: string;
  readonly position?: number;
  readonly data?: unknown;

  constructor(code: ErrorCode, message: string, opts: CheckpointErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    if (opts.detail !== undefined) this.detail = opts.detail;
    if (opts.path !== undefined) this.path = opts.path;
    if (opts.tensor !== undefined) this.tensor = opts.tensor;
    if (opts.position !== undefined) this.position = opts.position;
    if (opts.data !== undefined) this.data = opts.data;
  }

  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = { ok: false, code: this.code, message: this.message };
    if (this.detail !== undefined) out.detail = this.detail;
    if (this.path !== undefined) out.path = this.path;
    if (this.tensor !== undefined) out.tensor = this.tensor;
    if (this.position !== undefined) out.position = this.position;
    if (this.data !== undefined) out.data = this.data;
    return out;
  }
}

type Opts = CheckpointErrorOptions;

/** The thing asked for does not exist: check the path or URL. */
export class NotFoundError extends CheckpointError {
  constructor(message: string, opts?: Opts) { super('NOT_FOUND', message, opts); }
}
/** The bytes are not a valid file of the expected format: re-download or re-save. */
export class CorruptError extends CheckpointError {
  constructor(message: string, opts?: Opts) { super('CORRUPT', message, opts); }
}
/** The bytes are well formed but differ from what the sidecar/manifest recorded. */
export class IntegrityError extends CheckpointError {
  constructor(message: string, opts?: Opts) { super('INTEGRITY', message, opts); }
}
/** The HMAC is missing or wrong for the key given: the file is not authentic. */
export class AuthError extends CheckpointError {
  constructor(message: string, opts?: Opts) { super('AUTH', message, opts); }
}
/** The checkpoint does not fit the model: tensors missing, unexpected, reshaped or retyped. */
export class CompatibilityError extends CheckpointError {
  constructor(code: 'SHAPE_MISMATCH' | 'DTYPE_MISMATCH' | 'ARCH_MISMATCH', message: string, opts?: Opts) {
    super(code, message, opts);
  }
}
/** A pickle asked for something outside the fixed table: nothing was executed. */
export class UnsafePickleError extends CheckpointError {
  constructor(message: string, opts?: Opts) { super('UNSAFE_PICKLE', message, opts); }
}
/** A format version, dtype or feature this build does not handle. */
export class UnsupportedError extends CheckpointError {
  constructor(message: string, opts?: Opts) { super('UNSUPPORTED', message, opts); }
}
/** The storage failed (permissions, disk full, network): see `cause`. */
export class IoError extends CheckpointError {
  constructor(message: string, opts?: Opts) { super('IO', message, opts); }
}

const CLASSES = {
  NOT_FOUND: NotFoundError, CORRUPT: CorruptError, INTEGRITY: IntegrityError, AUTH: AuthError,
  UNSAFE_PICKLE: UnsafePickleError, UNSUPPORTED: UnsupportedError, IO: IoError,
} as const;

/**
 * The error for `code`, as the subclass its family has (so `instanceof AuthError` catches every AUTH,
 * `instanceof CompatibilityError` every shape, dtype and architecture mismatch). Every throw site in
 * safeckpt makes its errors here or with the subclass itself, never with the base class.
 */
export function errorFor(code: ErrorCode, message: string, opts?: Opts): CheckpointError {
  if (code === 'SHAPE_MISMATCH' || code === 'DTYPE_MISMATCH' || code === 'ARCH_MISMATCH') return new CompatibilityError(code, message, opts);
  return new CLASSES[code](message, opts);
}

/** True when `e` is a CheckpointError (any subclass). */
export function isCheckpointError(e: unknown): e is CheckpointError {
  return e instanceof CheckpointError;
}

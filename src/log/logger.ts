// What the library's own operations (save, load, verify, convert) log through.
// Users pass any object of this shape — a CircularLog, or an adapter to their
// own logger; without one, operations log nothing and warnings go nowhere.

/** Log levels, least to most severe. */
export type Level = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'CRITICAL';
/** Structured fields of a log record. */
export type Fields = Record<string, unknown>;

/** What every operation logs through (`opts.logger`): one method per level. */
export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  critical(msg: string, fields?: Fields): void;
}

/** A logger that drops everything: the default when the caller passes none. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  critical() {},
};

/** Mixed into the options of every operation that logs: `saveCheckpoint(root, state, { logger })`. */
export interface WithLogger {
  /** Where the operation logs what it did and what it skipped; default: nowhere (silentLogger). */
  logger?: Logger | null;
}

/**
 * The logger an operation should use, from its options: `opts.logger`, or silentLogger.
 * Every operation that takes options calls this once: `const log = loggerFrom(opts);`.
 * A logger the caller wrote is wrapped so that an exception thrown inside it can never
 * break a save or a load half-way (a log line is not worth a lost checkpoint).
 */
export function loggerFrom(opts?: WithLogger | null): Logger {
  const given = opts?.logger;
  if (!given) return silentLogger;
  if (trusted.has(given)) return given;
  const call = (m: keyof Logger) => (msg: string, fields?: Fields) => {
    try { given[m](msg, fields); } catch { /* the caller's logger failed: the operation goes on */ }
  };
  return { debug: call('debug'), info: call('info'), warn: call('warn'), error: call('error'), critical: call('critical') };
}

// Loggers of this library that never throw from a log call, so need no wrapper.
const trusted = new WeakSet<object>([silentLogger]);

/** @internal — marks a logger whose log calls never throw. */
export function trustLogger(l: Logger): void {
  trusted.add(l);
}

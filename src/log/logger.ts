// What the library's own operations (save, load, verify, convert) log through.
// Users pass any object of this shape — a CircularLog, or an adapter to their
// own logger; without one, operations log nothing and warnings go nowhere.

export type Level = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'CRITICAL';
export type Fields = Record<string, unknown>;

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

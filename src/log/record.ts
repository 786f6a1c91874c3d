// One log record as it is stored and written: a single line of JSON,
// `{"time":…,"level":…,"msg":…, …fields}`, made when the record is emitted.
// Serialising at emit time means the ring holds strings only: it never keeps
// the caller's objects alive, and later mutation of a fields object cannot
// change what was logged.
import type { Fields, Level } from './logger.js';

/** Every level, least to most severe. */
export const LEVELS: readonly Level[] = ['DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL'];

/** Level name → rank (DEBUG 0 … CRITICAL 4); ranks compare like the levels. */
export const LEVEL_RANK: Readonly<Record<Level, number>> = { DEBUG: 0, INFO: 1, WARN: 2, ERROR: 3, CRITICAL: 4 };

/** ERROR and above are written at once instead of at the next interval. */
export const URGENT_RANK = LEVEL_RANK.ERROR;

/** A parsed record: what one line of a log file holds. */
export interface LogRecord {
  time: string;
  level: Level;
  msg: string;
  [field: string]: unknown;
}

// Keys the record itself owns; a field with one of these names is written with
// a leading underscore so that it can neither shadow nor duplicate them.
const RESERVED = new Set(['time', 'level', 'msg']);

// Many records share a millisecond in a busy loop; formatting the date once
// per distinct millisecond halves the cost of a record.
let cachedMs = NaN;
let cachedIso = '';
function isoTime(ms: number): string {
  if (ms !== cachedMs) {
    cachedMs = ms;
    cachedIso = new Date(ms).toISOString();
  }
  return cachedIso;
}

/**
 * The JSON line for one record (no trailing newline). Never throws: fields are the caller's objects, and a
 * throwing getter, Proxy trap, toJSON or toString in them must not turn a log call into a crash. What cannot
 * be read is replaced by a note saying so.
 */
export function formatRecord(ms: number, level: Level, msg: string, fields?: Fields): string {
  const head = '{"time":"' + isoTime(ms) + '","level":"' + level + '","msg":' + JSON.stringify(safeText(msg));
  try {
    if (fields === undefined || fields === null) return head + '}';
    let body: string;
    try {
      body = JSON.stringify(needsRewrite(fields) ? rewrite(fields) : fields);
    } catch {
      // BigInt, a cycle or a throwing toJSON: the slow, careful path.
      body = safeStringify(rewrite(fields));
    }
    return body === undefined || body.length <= 2 ? head + '}' : head + ',' + body.slice(1);
  } catch (e) {
    // A getter or Proxy that throws even on the careful path: the record keeps its message.
    return head + ',"fields_error":' + JSON.stringify(`the fields could not be read: ${safeText(errorMessage(e))}`) + '}';
  }
}

/** String(v), or a placeholder when v's toString (or a Proxy around it) throws. */
function safeText(v: unknown): string {
  if (typeof v === 'string') return v;
  try {
    return String(v);
  } catch {
    try { return Object.prototype.toString.call(v); } catch { return '[unprintable]'; }
  }
}

function errorMessage(e: unknown): unknown {
  try { return e instanceof Error ? e.message : e; } catch { return '[unprintable]'; }
}

/** Parses a line made by formatRecord. */
export function parseRecord(line: string): LogRecord {
  return JSON.parse(line) as LogRecord;
}

function needsRewrite(fields: Fields): boolean {
  if (typeof fields !== 'object' || Array.isArray(fields)) return true;
  for (const k in fields) {
    if (RESERVED.has(k)) return true;
    const v = fields[k];
    // A plain Error stringifies as {} — the one field people most need to see.
    if (v instanceof Error && typeof (v as { toJSON?: unknown }).toJSON !== 'function') return true;
  }
  return false;
}

function rewrite(fields: Fields): Record<string, unknown> {
  if (typeof fields !== 'object' || Array.isArray(fields)) return { fields };
  // No prototype: a field named __proto__ is a field like any other.
  const out = Object.create(null) as Record<string, unknown>;
  for (const k of Object.keys(fields)) {
    let v: unknown;
    try {
      v = fields[k];
      if (v instanceof Error && typeof (v as { toJSON?: unknown }).toJSON !== 'function') v = errorFields(v);
    } catch (e) {
      // One unreadable field (a throwing getter) does not cost the others.
      v = `[unreadable: ${safeText(errorMessage(e))}]`;
    }
    out[RESERVED.has(k) ? '_' + k : k] = v;
  }
  return out;
}

function errorFields(e: Error): Record<string, unknown> {
  const out: Record<string, unknown> = { name: e.name, message: e.message };
  const code = (e as { code?: unknown }).code;
  if (code !== undefined) out.code = code;
  if (e.stack) out.stack = e.stack;
  if (e.cause !== undefined) out.cause = e.cause instanceof Error ? errorFields(e.cause) : e.cause;
  return out;
}

function safeStringify(value: unknown): string {
  const seen = new WeakSet<object>();
  try {
    return JSON.stringify(value, function (_k, v: unknown) {
      if (typeof v === 'bigint') return v.toString();
      if (v instanceof Error) return errorFields(v);
      if (typeof v === 'object' && v !== null) {
        if (seen.has(v)) return '[Circular]';
        seen.add(v);
      }
      return v;
    });
  } catch (e) {
    return JSON.stringify({ unserializable: safeText(errorMessage(e)) });
  }
}

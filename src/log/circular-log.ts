// A logger that keeps the last `capacity` records in a ring and writes to its
// sink lazily: at most once per `flushIntervalMs`, at once for ERROR and above,
// and on flush()/close()/process exit.
//
// The guarantee ("nothing emitted before close() is lost"), precisely:
//   1. Every record emitted before close() reaches the sink in exactly one
//      batch (`batch.lines`), in emission order, by the time close() settles.
//      When the ring is full of records not yet written, the next record makes
//      the log write first (reason 'overflow') instead of overwriting one — so a
//      ring never silently eats a record, and the write rate is bounded by both
//      the interval and `capacity` records.
//   2. A snapshot sink (file, OPFS) holds, after each write, exactly the last
//      `capacity` records emitted before that write, oldest first: the ring.
//   3. ERROR and CRITICAL are written before error()/critical() returns when the
//      sink is synchronous (the file sink is), so they survive a SIGKILL that
//      follows; on a normal process exit pending records are written synchronously.
//   The one exception to 1: while a write is in progress (an async sink, or a
//   sink that itself logs) the ring cannot be written, so a record that would
//   overwrite an unwritten one is moved aside; at most `capacity` records are
//   held that way, and past that records are dropped, counted (`stats.lost`),
//   and reported by a WARN record in the next batch. A sink that throws keeps
//   its batch for the next write under the same bound.
// Records emitted after close() are dropped and counted (`stats.droppedAfterClose`):
// a log call never throws, because a late log line must not break a training loop.
import { CheckpointError, IoError, UnsupportedError } from '../errors.js';
import type { Fields, Level, Logger } from './logger.js';
import { trustLogger } from './logger.js';
import { formatRecord, parseRecord, LEVELS, LEVEL_RANK, URGENT_RANK } from './record.js';
import type { LogRecord } from './record.js';
import type { FlushReason, LogBatch, LogSink } from './sink.js';
import { registerForExit, unregisterForExit } from './exit-hook.js';
import type { ExitFlushable } from './exit-hook.js';

/** How the log schedules its interval writes; injectable so tests control time. */
export interface LogTimer {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

/** Options of CircularLog: capacity, flush interval, sink, level. */
export interface CircularLogOptions {
  /** Records kept in the ring (and in a snapshot sink's file). */
  capacity: number;
  /** Minimum time between two interval writes; `Infinity` writes only on ERROR, overflow, flush and close. */
  flushIntervalMs: number;
  sink: LogSink;
  /** Records below this level are ignored. Default 'INFO'. */
  level?: Level;
  /** Milliseconds since the epoch; default Date.now. */
  clock?: () => number;
  /** Default: setTimeout, unref'd so a pending write never keeps the process alive. */
  timer?: LogTimer;
  /**
   * Longest close() waits for an async sink's pending write and for its close() (default 30 s): a sink
   * that never settles makes close() reject with IO/SINK_TIMEOUT instead of waiting forever.
   */
  closeTimeoutMs?: number;
}

/** Default of CircularLogOptions.closeTimeoutMs. */
export const LOG_CLOSE_TIMEOUT_MS = 30_000;

/** What a log did: records accepted, writes, sink errors, records lost. */
export interface CircularLogStats {
  /** Records accepted (at or above the level, before close). */
  records: number;
  /** Writes handed to the sink (including failed ones). */
  writes: number;
  /** Writes that threw or rejected. */
  sinkErrors: number;
  /** Records dropped because the sink failed or fell behind by more than `capacity` records. */
  lost: number;
  /** Records emitted after close(). */
  droppedAfterClose: number;
}

/** Largest ring accepted: 16 Mi records is already gigabytes of lines. */
export const MAX_LOG_CAPACITY = 1 << 24;
/** setTimeout's largest delay; longer intervals are waited for in steps. */
const MAX_TIMER_MS = 0x7fffffff;

const defaultTimer: LogTimer = {
  set(fn, ms) {
    const h = setTimeout(fn, ms) as unknown;
    // Node returns an object with unref(); Deno a number it can unref by id.
    if (typeof h === 'object' && h !== null && typeof (h as { unref?: unknown }).unref === 'function') {
      (h as { unref(): void }).unref();
    } else if (typeof h === 'number') {
      const deno = (globalThis as { Deno?: { unrefTimer?(id: number): void } }).Deno;
      deno?.unrefTimer?.(h);
    }
    return h;
  },
  clear(h) {
    clearTimeout(h as Parameters<typeof clearTimeout>[0]);
  },
};

const refTimer: LogTimer = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (h) => clearTimeout(h as Parameters<typeof clearTimeout>[0]),
};

/** A logger keeping the last `capacity` records in a ring and writing them lazily to its sink; nothing emitted before close() is lost. */
export class CircularLog implements Logger, ExitFlushable {
  readonly capacity: number;
  readonly flushIntervalMs: number;
  private readonly sink: LogSink;
  private readonly clock: () => number;
  private readonly timer: LogTimer;
  private readonly closeTimeoutMs: number;
  private threshold: number;

  // The ring: preallocated, one JSON line per slot, `head` is the next slot to fill.
  private readonly ring: string[];
  private head = 0;
  private size = 0;
  private total = 0;    // records ever appended
  private written = 0;  // records [0, written) are written, in a write, or moved to `carry`
  private carry: string[] = [];  // unwritten records pushed out of the ring while it could not be written
  private unreportedLost = 0;

  private writing = false;
  private followUp: FlushReason | null = null;  // an urgent write asked for while one was in progress
  private depth = 0;
  private lastWriteAt = -Infinity;
  private lastFailureAt = -Infinity;
  private lastSinkError: unknown = undefined;
  private timerHandle: unknown = null;
  private timerArmed = false;
  private idleWaiters: Array<() => void> = [];
  private closed = false;
  private closing: Promise<void> | null = null;
  private readonly counters: CircularLogStats = { records: 0, writes: 0, sinkErrors: 0, lost: 0, droppedAfterClose: 0 };

  constructor(opts: CircularLogOptions) {
    const { capacity, flushIntervalMs, sink } = opts ?? ({} as CircularLogOptions);
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > MAX_LOG_CAPACITY) {
      throw invalid(`capacity must be an integer from 1 to ${MAX_LOG_CAPACITY}; got ${String(capacity)}`);
    }
    if (typeof flushIntervalMs !== 'number' || !(flushIntervalMs >= 0)) {
      throw invalid(`flushIntervalMs must be a number ≥ 0 (Infinity: only urgent writes); got ${String(flushIntervalMs)}`);
    }
    if (!sink || typeof sink.write !== 'function') {
      throw invalid('sink must be an object with a write(batch) method, e.g. await fileSink(path) or memorySink()');
    }
    const level = opts.level ?? 'INFO';
    if (!(level in LEVEL_RANK)) throw invalid(`level must be one of ${LEVELS.join(', ')}; got ${String(level)}`);
    this.capacity = capacity;
    this.flushIntervalMs = flushIntervalMs;
    this.sink = sink;
    this.clock = opts.clock ?? Date.now;
    this.timer = opts.timer ?? defaultTimer;
    const ct = opts.closeTimeoutMs ?? LOG_CLOSE_TIMEOUT_MS;
    if (typeof ct !== 'number' || !(ct > 0)) throw invalid(`closeTimeoutMs must be a number > 0 (Infinity: wait for ever); got ${String(ct)}`);
    this.closeTimeoutMs = ct;
    this.threshold = LEVEL_RANK[level];
    this.ring = new Array<string>(capacity).fill('');
    registerForExit(this);
    trustLogger(this);
  }

  /** The current threshold; records below it are ignored. */
  get level(): Level {
    return LEVELS[this.threshold];
  }
  set level(level: Level) {
    if (!(level in LEVEL_RANK)) throw invalid(`level must be one of ${LEVELS.join(', ')}; got ${String(level)}`);
    this.threshold = LEVEL_RANK[level];
  }

  get stats(): Readonly<CircularLogStats> {
    return { ...this.counters };
  }

  /** True once close() was called. */
  get isClosed(): boolean {
    return this.closed;
  }

  debug(msg: string, fields?: Fields): void { this.log('DEBUG', msg, fields); }
  info(msg: string, fields?: Fields): void { this.log('INFO', msg, fields); }
  warn(msg: string, fields?: Fields): void { this.log('WARN', msg, fields); }
  error(msg: string, fields?: Fields): void { this.log('ERROR', msg, fields); }
  critical(msg: string, fields?: Fields): void { this.log('CRITICAL', msg, fields); }

  log(level: Level, msg: string, fields?: Fields): void {
    // Never throws (see formatRecord): a level that is not one of ours is ignored, not looked up by toString().
    const rank = typeof level === 'string' && Object.prototype.hasOwnProperty.call(LEVEL_RANK, level) ? LEVEL_RANK[level] : undefined;
    if (rank === undefined || rank < this.threshold) return;
    if (this.closed) {
      this.counters.droppedAfterClose++;
      return;
    }
    this.counters.records++;
    this.append(formatRecord(this.clock(), level, msg, fields));
    if (rank >= URGENT_RANK) this.write('error');
    else if (!this.timerArmed && !this.writing) this.arm(this.flushIntervalMs);
  }

  /** The ring's records, oldest first (parsed). */
  records(): LogRecord[] {
    return this.ringLines().map(parseRecord);
  }

  /**
   * Writes pending records now. For a synchronous sink the write has happened when flush() returns;
   * the promise settles when an async sink is done, and rejects with an IO CheckpointError if it failed.
   */
  flush(): Promise<void> {
    const failuresBefore = this.counters.sinkErrors;
    this.write('flush');
    return this.idle().then(() => this.throwIfFailedSince(failuresBefore));
  }

  /**
   * Writes what is pending, closes the sink and stops the timer. Idempotent: later calls return the
   * same promise. The final write of a synchronous sink is done when close() returns.
   */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    const failuresBefore = this.counters.sinkErrors;
    this.cancelTimer();
    unregisterForExit(this);
    this.write('close');
    // Closed from the moment close() returns: later log calls are dropped and counted. Records a
    // synchronous sink logged during that final write were emitted before close, and are written below.
    this.closed = true;
    this.closing = (async () => {
      // Only an async sink's pending work is waited for, and only so long (a synchronous sink is done already).
      // Always one await (records a sink logs from its callbacks land meanwhile); bounded while a write is pending.
      await (this.writing ? this.bounded(this.idle(), 'finish its pending write') : this.idle());
      if (this.hasPending()) {
        this.write('close');
        await (this.writing ? this.bounded(this.idle(), 'finish its last write') : this.idle());
      }
      this.cancelTimer();
      try {
        const closed = this.sink.close?.();
        if (closed && typeof (closed as Promise<void>).then === 'function') await this.bounded(closed as Promise<void>, 'close');
      } catch (e) {
        throw toIoError(e, 'closing the log sink');
      }
      this.throwIfFailedSince(failuresBefore);
    })();
    return this.closing;
  }

  /** `p`, or IO/SINK_TIMEOUT once closeTimeoutMs pass without it settling. */
  private bounded<T>(p: Promise<T>, what: string): Promise<T> {
    if (this.closeTimeoutMs === Infinity) return p;
    // Not unref'd (unlike interval writes): a caller awaiting close() is waiting for an answer, and must get
    // one, even when nothing else keeps the process alive.
    const timer = this.timer === defaultTimer ? refTimer : this.timer;
    return new Promise<T>((resolve, reject) => {
      const h = timer.set(() => {
        reject(new IoError(`The log sink did not ${what} within ${this.closeTimeoutMs} ms: close() gives up waiting (records of that write may be lost; closeTimeoutMs sets the bound)`, {
          detail: 'SINK_TIMEOUT',
        }));
      }, Math.min(this.closeTimeoutMs, MAX_TIMER_MS));
      p.then((v) => { timer.clear(h); resolve(v); }, (e) => { timer.clear(h); reject(e); });
    });
  }

  /** @internal — called by the exit hook. */
  flushOnExit(): void {
    this.write('exit');
  }

  // ---------------------------------------------------------------- ring

  private append(line: string): void {
    if (this.total - this.written >= this.capacity) {
      // The slot about to be reused holds the oldest unwritten record: write before losing it,
      // unless a write is in progress or the sink failed less than an interval ago.
      if (!this.writing && this.clock() - this.lastFailureAt >= Math.min(this.flushIntervalMs, 1000)) {
        this.write('overflow');
      }
      if (this.total - this.written >= this.capacity) {
        this.keepAside(this.ring[this.head]);
        this.written++;
      }
    }
    this.ring[this.head] = line;
    this.head = this.head + 1 === this.capacity ? 0 : this.head + 1;
    if (this.size < this.capacity) this.size++;
    this.total++;
  }

  private keepAside(line: string): void {
    if (this.carry.length < this.capacity) this.carry.push(line);
    else this.loseRecords(1);
  }

  private loseRecords(n: number): void {
    this.unreportedLost += n;
    this.counters.lost += n;
  }

  private hasPending(): boolean {
    return this.total > this.written || this.carry.length > 0 || this.unreportedLost > 0;
  }

  private ringLines(): string[] {
    if (this.size < this.capacity) return this.ring.slice(0, this.size);
    return this.head === 0 ? this.ring.slice() : this.ring.slice(this.head).concat(this.ring.slice(0, this.head));
  }

  /** Unwritten records still in the ring, oldest first. */
  private pendingLines(): string[] {
    const n = this.total - this.written;
    if (n === 0) return [];
    const start = (this.head - n + this.capacity) % this.capacity;
    return start < this.head ? this.ring.slice(start, this.head) : this.ring.slice(start).concat(this.ring.slice(0, this.head));
  }

  // ---------------------------------------------------------------- writing

  private write(reason: FlushReason): void {
    if (this.writing) {
      if (reason !== 'interval' && this.followUp === null) this.followUp = reason;
      return;
    }
    this.cancelTimer();
    if (!this.hasPending()) return;
    this.writing = true;
    const lines = this.carry.length > 0 ? this.carry.concat(this.pendingLines()) : this.pendingLines();
    this.carry = [];
    this.written = this.total;
    const lost = this.unreportedLost;
    if (lost > 0) {
      // Reported where it happened in time: now, at the end of this batch, and in the ring.
      this.unreportedLost = 0;
      const warn = formatRecord(this.clock(), 'WARN',
        `${lost} log record(s) were lost: the sink failed or fell behind by more than the ring's capacity`,
        { lost });
      this.append(warn);
      lines.push(warn);
      this.written = this.total;
    }
    const batch = new Batch(reason, lines, lost, this);
    this.lastWriteAt = this.clock();
    this.counters.writes++;
    let result: void | Promise<void>;
    try {
      result = this.sink.write(batch);
    } catch (e) {
      this.failed(lines, e);
      this.finish();
      return;
    }
    if (result && typeof (result as Promise<void>).then === 'function') {
      (result as Promise<void>).then(
        () => this.finish(),
        (e: unknown) => { this.failed(lines, e); this.finish(); },
      );
    } else {
      this.finish();
    }
  }

  private failed(lines: string[], e: unknown): void {
    this.counters.sinkErrors++;
    this.lastSinkError = e;
    this.lastFailureAt = this.clock();
    // Back in front of whatever was set aside meanwhile, under the same bound, oldest dropped first.
    const back = lines.concat(this.carry);
    const excess = back.length - this.capacity;
    if (excess > 0) this.loseRecords(excess);
    this.carry = excess > 0 ? back.slice(excess) : back;
  }

  private finish(): void {
    this.writing = false;
    const next = this.followUp;
    this.followUp = null;
    // An ERROR (or flush/close) arrived during the write: write again now. A sink that logs an
    // ERROR on every write would recurse forever, so only one level follows at once; deeper ones
    // wait for the timer.
    if (next !== null && this.depth < 1) {
      this.depth++;
      try { this.write(next); } finally { this.depth--; }
      if (this.writing) return;
    }
    if (this.hasPending()) this.arm(this.flushIntervalMs);
    if (!this.writing) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private idle(): Promise<void> {
    if (!this.writing) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private throwIfFailedSince(failuresBefore: number): void {
    if (this.counters.sinkErrors > failuresBefore) throw toIoError(this.lastSinkError, 'writing the log');
  }

  // ---------------------------------------------------------------- timer

  private arm(delay: number): void {
    if (this.timerArmed || this.closed || delay === Infinity) return;
    this.timerArmed = true;
    this.timerHandle = this.timer.set(() => this.onTimer(), Math.min(Math.max(delay, 0), MAX_TIMER_MS));
  }

  private onTimer(): void {
    this.timerArmed = false;
    this.timerHandle = null;
    // Writes of any kind count: an interval write never follows another write sooner than the interval.
    const wait = Math.max(this.lastWriteAt, this.lastFailureAt) + this.flushIntervalMs - this.clock();
    if (wait > 0) {
      this.arm(wait);
      return;
    }
    this.write('interval');
  }

  private cancelTimer(): void {
    if (!this.timerArmed) return;
    this.timerArmed = false;
    this.timer.clear(this.timerHandle);
    this.timerHandle = null;
  }

  /** @internal — the ring as JSONL text, for Batch.snapshot(). */
  snapshotText(): string {
    const lines = this.ringLines();
    return lines.length === 0 ? '' : lines.join('\n') + '\n';
  }
}

class Batch implements LogBatch {
  private parsed: LogRecord[] | null = null;
  constructor(
    readonly reason: FlushReason,
    readonly lines: readonly string[],
    readonly lost: number,
    private readonly log: CircularLog,
  ) {}
  records(): LogRecord[] {
    return (this.parsed ??= this.lines.map(parseRecord));
  }
  snapshot(): string {
    return this.log.snapshotText();
  }
}

function invalid(message: string): CheckpointError {
  return new UnsupportedError(`CircularLog: ${message}`, { detail: 'INVALID_OPTION' });
}

function toIoError(e: unknown, doing: string): CheckpointError {
  if (e instanceof CheckpointError) return e;
  const why = e instanceof Error ? e.message : String(e);
  return new IoError(`The log sink failed while ${doing}: ${why}. The records are kept for the next write (up to the ring's capacity); check the sink's storage.`, { cause: e });
}

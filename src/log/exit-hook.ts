// Flushes every open CircularLog when the process or page goes away. One set
// of listeners for the whole library (not one per log, which would trip
// Node's MaxListeners warning); a log is held here from construction to
// close(), so unwritten records cannot be garbage-collected with it.

export interface ExitFlushable {
  /** Writes what is pending, synchronously as far as the sink allows. Never throws. */
  flushOnExit(): void;
}

const open = new Set<ExitFlushable>();
let installed = false;

export function registerForExit(log: ExitFlushable): void {
  open.add(log);
  if (!installed) install();
}

export function unregisterForExit(log: ExitFlushable): void {
  open.delete(log);
}

function flushAll(): void {
  for (const log of [...open]) log.flushOnExit();
}

interface ProcessLike { on?(event: string, fn: () => void): unknown }
interface EventTargetLike { addEventListener?(type: string, fn: () => void): void }

function install(): void {
  installed = true;
  const g = globalThis as unknown as { process?: ProcessLike; Deno?: unknown; document?: unknown } & EventTargetLike;
  // Node, and Deno through its node compatibility: 'exit' runs synchronous code only,
  // which is exactly what the file sink needs; 'beforeExit' still lets async sinks finish
  // when the event loop simply ran dry.
  if (g.process && typeof g.process.on === 'function') {
    g.process.on('exit', flushAll);
    g.process.on('beforeExit', flushAll);
  }
  // Deno's own exit event (Deno.exit(), end of the main module), and the page going away in a
  // browser (an async sink there can only start its write: it is best effort).
  if (typeof g.addEventListener === 'function') {
    if (g.Deno !== undefined) g.addEventListener('unload', flushAll);
    else if (g.document !== undefined) g.addEventListener('pagehide', flushAll);
  }
}

// Bounds on one HTTP exchange, so a misbehaving server cannot hold a caller
// forever or fill its memory:
//  - progress: the exchange fails with IO/TIMEOUT when `timeoutMs` pass before
//    the headers arrive, or without PROGRESS_BYTES of body arriving (or the body
//    ending) — a server that never answers and one that trickles 1 byte per
//    second both trip it, a slow but real download does not;
//  - a caller's AbortSignal ends it at once (IO/ABORTED);
//  - the body is read to a byte limit (a range's length; for a compressed
//    answer, a cap on the decoded size), never past it.
import { IoError } from '../errors.js';

/** Default for HttpStoreOptions.timeoutMs: the longest a request waits without progress. */
export const HTTP_TIMEOUT_MS = 30_000;
/** Body bytes that count as progress: 64 KiB per timeout (≈ 2 KiB/s at the default) keeps a trickle from holding on. */
export const PROGRESS_BYTES = 64 * 1024;

/** One request's progress timer, tied to the caller's signal. */
export class Watch {
  readonly controller = new AbortController();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private sinceKick = 0;
  private ended = false;
  timedOut = false;
  private readonly onAbort = () => this.controller.abort(this.outer?.reason);

  constructor(private readonly timeoutMs: number, private readonly outer?: AbortSignal) {
    if (outer?.aborted) this.controller.abort(outer.reason);
    else outer?.addEventListener('abort', this.onAbort, { once: true });
    this.kick();
  }

  get signal(): AbortSignal { return this.controller.signal; }
  get aborted(): boolean { return this.outer?.aborted === true; }

  /** Restarts the timer (headers arrived, or enough body did). */
  kick(): void {
    if (this.ended || !Number.isFinite(this.timeoutMs)) return;
    this.sinceKick = 0;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.controller.abort(new Error(`no progress for ${this.timeoutMs} ms`));
    }, this.timeoutMs);
    // A pending timer must not keep a Node/Deno process alive on its own.
    (this.timer as { unref?: () => void }).unref?.();
  }

  /** Counts body bytes; every PROGRESS_BYTES restarts the timer. */
  progress(n: number): void {
    this.sinceKick += n;
    if (this.sinceKick >= PROGRESS_BYTES) this.kick();
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.outer?.removeEventListener('abort', this.onAbort);
  }

  /** The typed error for a failed fetch or body read: TIMEOUT, ABORTED, or `otherwise`. */
  failure(url: string, what: string, cause: unknown, otherwise: () => IoError): IoError {
    if (this.timedOut) {
      return new IoError(`${what} ${url}: no progress for ${this.timeoutMs} ms (the server stopped answering or sends too slowly); raise the timeout (timeoutMs, --timeout) for a slow link`, {
        path: url, detail: 'TIMEOUT', cause,
      });
    }
    if (this.aborted) return new IoError(`${what} ${url}: aborted by the caller`, { path: url, detail: 'ABORTED', cause: this.outer?.reason ?? cause });
    return otherwise();
  }
}

/**
 * Reads a response body to the end, or fails past `limit` bytes (IO/BODY_TOO_LARGE, the rest cancelled).
 * Ends the watch either way.
 */
export async function readBody(res: Response, watch: Watch, url: string, limit: number, why: string, size?: number): Promise<Uint8Array> {
  if (size !== undefined && size > 0 && size < limit) {
    const direct = await readBodyInto(res, watch, url, size, why);
    if (direct) return direct;
  }
  const chunks: Uint8Array[] = [];
  let n = 0;
  const reader = res.body?.getReader();
  try {
    if (!reader) return new Uint8Array(0);
    for (;;) {
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await reader.read();
      } catch (e) {
        throw watch.failure(url, 'download of', e, () => new IoError(`download of ${url} failed midway: ${(e as Error)?.message ?? String(e)}`, { path: url, cause: e }));
      }
      if (r.done) break;
      n += r.value.length;
      if (n > limit) {
        void reader.cancel().catch(() => {});
        throw new IoError(`${url}: the answer is longer than ${limit} bytes (${why}); stopped reading`, { path: url, detail: 'BODY_TOO_LARGE' });
      }
      chunks.push(r.value);
      watch.progress(r.value.length);
    }
  } finally {
    watch.end();
  }
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(n);
  let o = 0;
  for (const c of chunks) { out.set(c, o); o += c.length; }
  return out;
}

/**
 * A body of known length read straight into one buffer of that size with a BYOB reader (fetch bodies are
 * byte streams in browsers, Deno and workerd): no chunk is allocated and then copied again. More than
 * `size` bytes fail as readBody's limit does; fewer return what came. Null when the body is not a byte
 * stream (Node's fetch): readBody then collects chunks.
 */
async function readBodyInto(res: Response, watch: Watch, url: string, size: number, why: string): Promise<Uint8Array | null> {
  let reader: ReadableStreamBYOBReader;
  try {
    if (!res.body) return null;
    reader = res.body.getReader({ mode: 'byob' });
  } catch {
    return null;
  }
  let buf = new ArrayBuffer(size);
  let n = 0;
  try {
    for (;;) {
      let r: ReadableStreamReadResult<Uint8Array>;
      // Once full, one byte more tells an overlong body from the end.
      const into = n < size ? new Uint8Array(buf, n, size - n) : new Uint8Array(1);
      try {
        r = await reader.read(into);
      } catch (e) {
        throw watch.failure(url, 'download of', e, () => new IoError(`download of ${url} failed midway: ${(e as Error)?.message ?? String(e)}`, { path: url, cause: e }));
      }
      if (r.done) {
        if (n < size) {
          // The buffer of the last read comes back with the end, unless the stream was cancelled under us.
          if (!r.value) throw new IoError(`download of ${url} ended without its data (${n} of ${size} bytes)`, { path: url, detail: 'SHORT_READ' });
          buf = r.value.buffer as ArrayBuffer;
        }
        break;
      }
      if (n >= size) {
        void reader.cancel().catch(() => {});
        throw new IoError(`${url}: the answer is longer than ${size} bytes (${why}); stopped reading`, { path: url, detail: 'BODY_TOO_LARGE' });
      }
      buf = r.value.buffer as ArrayBuffer; // the read transferred the buffer: keep the one it came back in
      n += r.value.length;
      watch.progress(r.value.length);
    }
  } finally {
    watch.end();
  }
  return new Uint8Array(buf, 0, n);
}

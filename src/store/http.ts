// Read-only store over HTTP(S) with Range requests (after @huggingface/hub):
// a caller reads 8 bytes, then exactly the header, then only the tensors it
// needs. The size comes from the Content-Range of any 206 answer, so a caller
// that reads before it asks the size costs no HEAD. A server that ignores Range answers 200 with the whole body: that body
// is kept and every later range of the same URL is served from it, so a file
// is downloaded at most once.
import { CheckpointError, IoError, NotFoundError, UnsupportedError, errorFor } from '../errors.js';
import type { ByteRange, Store, StoreCallOptions, StoreEntry } from './store.js';
import { storeUnder } from './call-signal.js';
import { checkKey, checkRange } from './keys.js';
import { redactUrl } from './redact.js';
import { HTTP_TIMEOUT_MS, readBody, Watch } from './http-deadline.js';

/** A fetch error's message may quote the URL it was given: show the redacted one instead. */
const redactMessage = (msg: string, href: string, shown: string) => msg.split(href).join(shown);

/** Options of HttpStore: request headers, the fetch to use, a query string (e.g. a token) for every URL. */
export interface HttpStoreOptions {
  /** Extra request headers (e.g. an Authorization token). */
  headers?: Record<string, string>;
  /** The fetch to use (defaults to the global one). */
  fetch?: typeof fetch;
  /**
   * A query string (`?token=…`) added to every URL of this store, so a URL that carries an access token
   * keeps it for the file and its sidecar. Per-object presigned URLs (S3) sign one key only: give those
   * files their own URLs or a custom `fetch`.
   */
  search?: string;
  /**
   * Milliseconds a request may go without progress — no answer yet, or under 64 KiB of body since the
   * last progress — before it fails with IO/TIMEOUT (default 30 s; Infinity turns it off).
   */
  timeoutMs?: number;
  /** Ends every request of this store at once (IO/ABORTED). */
  signal?: AbortSignal;
  /**
   * Largest decoded body accepted from a compressed answer (Content-Encoding other than identity, sent although
   * identity was asked for), default 64 MiB: sidecars and indexes fit, a gzip bomb does not. Serve weights uncompressed.
   */
  maxDecodedBytes?: number;
}

/** Default of HttpStoreOptions.maxDecodedBytes. */
export const MAX_DECODED_BYTES = 64 << 20;

/** A response and the watch bounding it: every path either reads its body or discards it. */
interface Exchange {
  res: Response;
  watch: Watch;
}

/** Requests and bytes an HttpStore made and received. */
export interface HttpStats {
  requests: number;
  /** Body bytes received. */
  bytes: number;
  /** Full-body responses to a range request (the server ignored Range). */
  fullReads: number;
}

/** Files under a URL, read-only, by range requests (only the bytes asked for). */
export class HttpStore implements Store {
  readonly kind = 'http';
  readonly readOnly = true;
  readonly remote = true;
  readonly base: string;
  readonly stats: HttpStats = { requests: 0, bytes: 0, fullReads: 0 };
  private readonly headers: Record<string, string>;
  private readonly search: string;
  private readonly fetchFn: typeof fetch;
  private readonly timeoutMs: number;
  private readonly signal?: AbortSignal;
  private readonly maxDecodedBytes: number;
  private readonly whole = new Map<string, Promise<Uint8Array>>();
  private readonly sizes = new Map<string, number>();

  /** `base` is the URL of the folder keys are relative to. */
  constructor(base: string, opts: HttpStoreOptions = {}) {
    this.base = base.endsWith('/') ? base : base + '/';
    this.headers = opts.headers ?? {};
    this.fetchFn = opts.fetch ?? ((...a: Parameters<typeof fetch>) => fetch(...a));
    this.search = !opts.search || opts.search === '?' ? '' : opts.search.startsWith('?') ? opts.search : '?' + opts.search;
    const t = opts.timeoutMs ?? HTTP_TIMEOUT_MS;
    if (!(t > 0)) throw new UnsupportedError(`HttpStore: timeoutMs must be a positive number of milliseconds (or Infinity); got ${String(t)}`, { detail: 'INVALID_OPTION' });
    this.timeoutMs = t;
    this.signal = opts.signal;
    this.maxDecodedBytes = opts.maxDecodedBytes ?? MAX_DECODED_BYTES;
  }

  /** The URL of `key` for people and logs: the query string's values redacted (see redact.ts). */
  describe(key: string): string {
    return redactUrl(this.href(key));
  }

  /** The URL of `key` as requested, query string (an access token) included. Never put it in a message. */
  private href(key: string): string {
    return this.base + key.split('/').map(encodeURIComponent).join('/') + this.search;
  }

  private async request(key: string, method: 'GET' | 'HEAD', range?: ByteRange): Promise<Exchange> {
    const url = this.describe(checkKey(key, `http store at ${redactUrl(this.base)}`));
    const href = this.href(key);
    // Identity: a compressed answer cannot be ranged, and its decoded size is unknown until decoded (browsers
    // drop this header and negotiate themselves; a compressed answer is then bounded, see body()).
    const headers: Record<string, string> = { 'Accept-Encoding': 'identity', ...this.headers };
    // Inclusive end in HTTP (RFC 9110 §14.1.2): the off-by-one @huggingface/hub once had (hub#4602).
    if (range) headers.Range = `bytes=${range.start}-${range.end - 1}`;
    const watch = new Watch(this.timeoutMs, this.signal);
    let res: Response;
    try {
      this.stats.requests++;
      // 'no-cache': a browser revalidates every read. Without it, a file fetched a while after it last
      // changed is heuristically fresh, and a changed file (or a range of it) comes from the cache, stale.
      res = await this.fetchFn(href, { method, headers, cache: 'no-cache', signal: watch.signal });
    } catch (e) {
      watch.end();
      throw watch.failure(url, method, e, () => new IoError(`could not fetch ${url}: ${redactMessage((e as Error)?.message ?? String(e), href, url)} (network down or server unreachable?)`, { path: url, cause: e }));
    }
    watch.kick();
    const x = { res, watch };
    if (res.status === 404 || res.status === 410) {
      await this.discard(x);
      throw new NotFoundError(`${url} does not exist (HTTP ${res.status})`, { path: url, detail: `HTTP_${res.status}` });
    }
    return x;
  }

  /** Drops an answer's body unread. */
  private async discard(x: Exchange): Promise<void> {
    x.watch.end();
    await x.res.body?.cancel().catch(() => {});
  }

  /** The body, bounded: at most `expected` bytes (+1, to see an overlong answer), a compressed one at most maxDecodedBytes. */
  private async body(x: Exchange, url: string, expected?: number): Promise<Uint8Array> {
    const encoding = x.res.headers.get('content-encoding');
    const compressed = encoding !== null && encoding.trim().toLowerCase() !== 'identity';
    const limit = Math.min(expected === undefined ? Infinity : expected + 1, compressed ? this.maxDecodedBytes : Infinity);
    const why = compressed && limit === this.maxDecodedBytes
      ? `a ${encoding} answer, decoded; raise maxDecodedBytes, or serve the file uncompressed`
      : 'more than was asked for';
    const b = await readBody(x.res, x.watch, url, limit, why, compressed ? undefined : expected);
    this.stats.bytes += b.length;
    return b;
  }

  private unexpected(res: Response, url: string, what: string): CheckpointError {
    return new IoError(`${what} ${url}: unexpected HTTP ${res.status} ${res.statusText}`, { path: url, detail: `HTTP_${res.status}` });
  }

  private fetchWhole(key: string, res?: Exchange): Promise<Uint8Array> {
    let p = this.whole.get(key);
    if (!p) {
      const url = this.describe(key);
      p = (async () => {
        const r = res ?? (await this.request(key, 'GET'));
        if (r.res.status !== 200) {
          await this.discard(r);
          throw this.unexpected(r.res, url, 'GET');
        }
        const b = await this.body(r, url);
        this.sizes.set(key, b.length);
        return b;
      })();
      p.catch(() => this.whole.delete(key));
      this.whole.set(key, p);
    } else if (res) {
      void this.discard(res);
    }
    return p;
  }

  async size(key: string, opts?: StoreCallOptions): Promise<number> {
    if (opts?.signal && opts.signal !== this.signal) return storeUnder(this, this.signal, opts.signal).size(key);
    const known = this.sizes.get(key);
    if (known !== undefined) return known;
    const url = this.describe(key);
    const headX = await this.request(key, 'HEAD');
    await this.discard(headX);
    const head = headX.res;
    const len = head.headers.get('content-length');
    if (head.ok && len !== null && /^\d+$/.test(len) && !head.headers.get('content-encoding')) {
      this.sizes.set(key, Number(len));
      return Number(len);
    }
    // No usable HEAD: a one-byte range answers with the total in Content-Range (or the server sends it all).
    const x = await this.request(key, 'GET', { start: 0, end: 1 });
    const res = x.res;
    if (res.status === 206) {
      const total = /\/(\d+)\s*$/.exec(res.headers.get('content-range') ?? '')?.[1];
      await this.discard(x);
      if (total === undefined) throw new IoError(`${url} answered a range request without a total size in Content-Range`, { path: url });
      this.sizes.set(key, Number(total));
      return Number(total);
    }
    if (res.status === 416) {
      await this.discard(x);
      this.sizes.set(key, 0);
      return 0;
    }
    return (await this.fetchWhole(key, x)).length;
  }

  async read(key: string, range?: ByteRange, opts?: StoreCallOptions): Promise<Uint8Array> {
    // The call's signal (an operation's, StoreCallOptions) stops this request too, as the store's own does.
    if (opts?.signal && opts.signal !== this.signal) return storeUnder(this, this.signal, opts.signal).read(key, range);
    const url = this.describe(key);
    const cached = this.whole.get(key);
    if (!range || cached) {
      const all = await (cached ?? this.fetchWhole(key));
      if (!range) return all;
      checkRange(range, all.length, url);
      return all.subarray(range.start, range.end);
    }
    if (range.end === range.start) {
      checkRange(range, await this.size(key), url);
      return new Uint8Array(0);
    }
    const x = await this.request(key, 'GET', range);
    const res = x.res;
    if (res.status === 200) {
      this.stats.fullReads++;
      const all = await this.fetchWhole(key, x);
      checkRange(range, all.length, url);
      return all.subarray(range.start, range.end);
    }
    if (res.status === 416) {
      await this.discard(x);
      checkRange(range, await this.size(key), url);
      throw this.unexpected(res, url, 'GET (range)');
    }
    if (res.status !== 206) {
      await this.discard(x);
      throw this.unexpected(res, url, 'GET (range)');
    }
    const cr = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
    const b = await this.body(x, url, range.end - range.start);
    if (cr && cr[3] !== '*') this.sizes.set(key, Number(cr[3]));
    if (cr && Number(cr[1]) !== range.start) {
      throw new IoError(`${url} answered bytes ${cr[1]}-${cr[2]} to a request for ${range.start}-${range.end - 1}`, { path: url, detail: 'BAD_RANGE' });
    }
    if (b.length !== range.end - range.start) {
      // A short 206 means the range ran past the end of the file.
      throw errorFor('CORRUPT', `${url}: asked for bytes [${range.start}, ${range.end}) but got ${b.length} (the file is shorter: truncated?)`, {
        detail: 'SHORT_READ', path: url, position: range.start + b.length,
      });
    }
    return b;
  }

  async exists(key: string, opts?: StoreCallOptions): Promise<boolean> {
    try {
      await this.size(key, opts);
      return true;
    } catch (e) {
      if (e instanceof NotFoundError) return false;
      throw e;
    }
  }

  async list(): Promise<StoreEntry[]> {
    throw this.readOnlyError('list', '');
  }
  async write(key: string): Promise<void> {
    throw this.readOnlyError('write', key);
  }
  async rename(from: string): Promise<void> {
    throw this.readOnlyError('rename', from);
  }
  async remove(key: string): Promise<void> {
    throw this.readOnlyError('remove', key);
  }
  async sync(): Promise<void> {
    // Nothing is ever written through HTTP.
  }

  private readOnlyError(op: string, key: string): CheckpointError {
    return new UnsupportedError(`cannot ${op} ${this.describe(key)}: HTTP sources are read-only (write to a file, opfs: or idb: instead)`, {
      detail: 'READ_ONLY', path: this.describe(key),
    });
  }
}

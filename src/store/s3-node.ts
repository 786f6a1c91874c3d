// The S3 store's transport on Node: node:http(s) with keep-alive connections,
// as the AWS SDK uses. Loaded on first use, only on Node (s3-backend.ts), and
// node:http itself by a computed import, as platform/runtime.ts does, so that
// no browser or worker bundle ever reaches it statically.
//
// Why not fetch (undici) here: it copies every request body before sending
// it (extractBody / cloneAsUint8Array: ~1.3 s per GiB uploaded in a profile
// of a 1 GiB save) and hands every received chunk through web streams and
// their promises (~1 CPU-second per GiB downloaded, much of it GC); node:http
// writes the caller's bytes as they are and hands each socket read to a
// callback. On 2 cores shared with the gateway those CPU-seconds are time.
import type { IncomingMessage } from 'node:http';
import type { S3Answer, S3Transport } from './s3-transport.js';

/**
 * A node: module by a computed specifier, as platform/runtime.ts loads them (no bundler follows it). Not
 * runtime.ts's own helper: importing it from here would make the page's start code export it (+8 B gzip
 * on every page, bench/size.bench.js) for a module only Node ever loads.
 */
function nodeModule<T>(name: string): Promise<T> {
  const specifier = 'node:' + name;
  return import(/* webpackIgnore: true */ /* @vite-ignore */ specifier) as Promise<T>;
}

/** An answer whose body is at most this long is drained when discarded (its connection kept); a longer one closes it. */
const DRAIN_MAX = 64 << 10;

function truncated(res: IncomingMessage): Error {
  const len = res.headers['content-length'];
  return new Error(`the connection closed before the whole body arrived${len !== undefined ? ` (Content-Length ${len})` : ''}`);
}

let shared: Promise<S3Transport> | undefined;
/**
 * The transport over node:http and node:https, one keep-alive agent each shared by every store of the process
 * (idle connections do not keep the process alive).
 */
export function nodeTransport(): Promise<S3Transport> {
  return (shared ??= makeTransport().catch((e) => { shared = undefined; throw e; }));
}

async function makeTransport(): Promise<S3Transport> {
  const [http, https] = await Promise.all([nodeModule<typeof import('node:http')>('http'), nodeModule<typeof import('node:https')>('https')]);
  const agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };
  return (url, call) => new Promise<S3Answer>((resolve, reject) => {
    const u = new URL(url);
    const secure = u.protocol === 'https:';
    const headers: Record<string, string> = { ...call.headers };
    // A PUT or POST without a body says so: without a length node:http would send it chunked.
    if (call.body || call.method === 'PUT' || call.method === 'POST') headers['content-length'] = String(call.body?.length ?? 0);
    const req = (secure ? https : http).request(u, { method: call.method, headers, agent: secure ? agents.https : agents.http });
    let res: IncomingMessage | undefined;
    let settled = false;
    const abort = () => {
      const reason = call.signal.reason ?? new Error('aborted');
      req.destroy(reason);
      res?.destroy(reason);
    };
    const release = () => call.signal.removeEventListener('abort', abort);
    if (call.signal.aborted) return reject(call.signal.reason);
    call.signal.addEventListener('abort', abort, { once: true });
    req.on('error', (e) => {
      release();
      if (!settled) reject(e);
    });
    req.on('response', (r: IncomingMessage) => {
      res = r;
      settled = true;
      let body: Promise<Uint8Array> | undefined;
      let text: Promise<string> | undefined;
      // Every reading of the body goes through here, once.
      let consumed = false;
      // An answer without a body (HEAD, 204, 304) is read out at once: unread, it would hold its connection.
      const noBody = call.method === 'HEAD' || r.statusCode === 204 || r.statusCode === 304;
      if (noBody) {
        release();
        r.resume();
      }
      const each = (onChunk: (b: Uint8Array) => void) => new Promise<void>((done, fail) => {
        if (noBody) return done();
        if (consumed) return fail(new Error('the body has been read already'));
        consumed = true;
        let over = false;
        const finish = (e?: unknown) => {
          if (over) return;
          over = true;
          release();
          if (e === undefined) done();
          else fail(e);
        };
        r.on('data', (c: Uint8Array) => {
          if (over) return;
          try {
            onChunk(c);
          } catch (e) {
            finish(e);
            r.destroy();
          }
        });
        r.on('end', () => finish(r.complete ? undefined : truncated(r)));
        r.on('error', (e) => finish(call.signal.aborted ? call.signal.reason ?? e : e));
        r.on('close', () => finish(r.complete ? undefined : call.signal.aborted ? call.signal.reason : truncated(r)));
      });
      const bytes = () => (body ??= (async () => {
        if (noBody) return new Uint8Array(0);
        const len = Number(r.headers['content-length']);
        if (Number.isSafeInteger(len) && len >= 0) {
          // The length is known: one buffer, each chunk copied to its place (node:http delivers no more than it).
          const out = new Uint8Array(len);
          let at = 0;
          await each((c) => {
            if (at + c.length > len) throw new Error(`more bytes than Content-Length ${len}`);
            out.set(c, at);
            at += c.length;
          });
          if (at !== len) throw truncated(r);
          return out;
        }
        const parts: Uint8Array[] = [];
        let n = 0;
        await each((c) => { parts.push(c); n += c.length; });
        const out = new Uint8Array(n);
        for (let at = 0, i = 0; i < parts.length; at += parts[i].length, i++) out.set(parts[i], at);
        return out;
      })());
      const first = (v: string | string[] | undefined) => (v === undefined ? null : Array.isArray(v) ? v.join(', ') : v);
      resolve({
        status: r.statusCode ?? 0,
        header: (name) => first(r.headers[name.toLowerCase()]),
        bytes,
        text: () => (text ??= bytes().then((b) => new TextDecoder().decode(b))),
        each,
        discard: async () => {
          if (consumed || noBody) return;
          consumed = true;
          release();
          const len = Number(r.headers['content-length']);
          // A short answer (or one already in) is drained, so that its connection serves the next request (an
          // answer never read to its end holds its connection); a long one is not read: the connection closes.
          if (r.complete || (Number.isSafeInteger(len) && len <= DRAIN_MAX)) r.resume();
          else r.destroy();
        },
      });
    });
    req.end(call.body);
  });
}

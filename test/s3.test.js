// The S3 store beyond the Store contract (test/store.test.js), on the Ceph RGW
// that test/run.js starts (SAFECKPT_TEST_S3_*): compare-and-swap writes,
// multipart uploads (parallel, bounded, aborted on failure, leftovers
// cleaned), retries, timeouts, AbortSignal, credentials and errors, and the
// formats reading lazily over ranged GETs. Faults are injected by wrapping the
// real fetch: every request still goes to RGW.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { S3Store, resolveSource, writeSafetensors, readSafetensors, verify, sign, MemoryStore } from '../dist/index.js';
import { isBrowser, hasFs, runtime, s3TestOptions, rng, randomBytes, platformSha256Hex, hex } from './_env.js';
import { freshReads } from '../dist/internal.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const MiB = 1 << 20;

async function failure(p) {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a failure, but it succeeded');
}

async function* chunks(bytes, size) {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

/** A fetch that passes every request to RGW, letting `hook(url, init, n)` answer or delay some instead. */
function faultyFetch(hook) {
  const log = [];
  const f = async (url, init) => {
    const n = log.length;
    log.push({ url: String(url), method: init?.method ?? 'GET' });
    const r = await hook(String(url), init ?? {}, n);
    return r ?? fetch(url, init);
  };
  f.log = log;
  return f;
}

const CAS = suite('S3 store: compare-and-swap writes (If-None-Match / If-Match)');
CAS('creates only when absent, replaces only the version it read, refuses a stale one', async () => {
  const s = new S3Store(s3TestOptions());
  assert.is(await s.readVersioned('LATEST'), null);
  const v1 = await s.writeIf('LATEST', enc.encode('a'), { ifVersion: null });
  const e = await failure(s.writeIf('LATEST', enc.encode('b'), { ifVersion: null }));
  assert.is(e.code, 'IO');
  assert.is(e.detail, 'PRECONDITION_FAILED');
  const read = await s.readVersioned('LATEST');
  assert.is(read.version, v1);
  assert.is(dec.decode(read.bytes), 'a');
  const v2 = await s.writeIf('LATEST', enc.encode('c'), { ifVersion: v1 });
  assert.is.not(v2, v1);
  assert.is((await failure(s.writeIf('LATEST', enc.encode('d'), { ifVersion: v1 }))).detail, 'PRECONDITION_FAILED', 'the version read before c was written is stale');
  assert.is(dec.decode(await s.read('LATEST')), 'c');
  await s.remove('');
});
CAS('of two writers racing from the same version, exactly one wins', async () => {
  const s = new S3Store(s3TestOptions());
  const v = await s.writeIf('LATEST', enc.encode('start'), { ifVersion: null });
  const results = await Promise.allSettled([1, 2, 3, 4].map((i) => s.writeIf('LATEST', enc.encode(`w${i}`), { ifVersion: v })));
  assert.is(results.filter((r) => r.status === 'fulfilled').length, 1, JSON.stringify(results.map((r) => r.status)));
  for (const r of results) if (r.status === 'rejected') assert.is(r.reason.detail, 'PRECONDITION_FAILED');
  await s.remove('');
});
CAS('the memory store has the same semantics', async () => {
  const s = new MemoryStore();
  const v1 = await s.writeIf('L', enc.encode('a'), { ifVersion: null });
  assert.is((await failure(s.writeIf('L', enc.encode('b'), { ifVersion: null }))).detail, 'PRECONDITION_FAILED');
  const v2 = await s.writeIf('L', enc.encode('a'), { ifVersion: v1 });
  assert.is((await failure(s.writeIf('L', enc.encode('c'), { ifVersion: v1 }))).detail, 'PRECONDITION_FAILED', 'same bytes, new version');
  assert.is((await s.readVersioned('L')).version, v2);
});
CAS.run();

const Up = suite('S3 store: uploads');
Up('a small value is one PUT; a large stream is a multipart upload with parts in parallel, never more than partsInFlight', async () => {
  let running = 0, peak = 0, parts = 0;
  const f = faultyFetch(async (url, init) => {
    if (!/[?&]partNumber=/.test(url)) return undefined;
    parts++;
    running++;
    peak = Math.max(peak, running);
    try { return await fetch(url, init); } finally { running--; }
  });
  const s = new S3Store({ ...s3TestOptions(), fetch: f, partSize: 5 * MiB, partsInFlight: 3 });
  await s.write('small', new Uint8Array(100));
  assert.equal(f.log.map((r) => r.method), ['PUT']);
  const data = randomBytes(23 * MiB + 11, rng(5));
  await s.write('big', chunks(data, MiB + 3));
  assert.is(parts, 5);
  assert.ok(peak > 1 && peak <= 3, `peak parts in flight: ${peak}`);
  assert.equal(await s.read('big', { start: 5 * MiB - 2, end: 5 * MiB + 2 }), data.subarray(5 * MiB - 2, 5 * MiB + 2));
  const all = await s.read('big');
  assert.ok(all.length === data.length && all.every((b, i) => b === data[i]));
  assert.equal(await s.listUploads(), []);
  await s.remove('');
});
Up('a stream\'s parts are filled in at most partsInFlight + 1 buffers, each reused once its part is up; a value given whole goes up as views of it, uncopied', async () => {
  const bodies = [];
  const f = faultyFetch(async (url, init) => {
    if (/[?&]partNumber=/.test(url)) bodies.push(init.body);
    return undefined;
  });
  const s = new S3Store({ ...s3TestOptions(), fetch: f, partSize: 5 * MiB, partsInFlight: 2 });
  const data = randomBytes(41 * MiB + 5, rng(17));
  await s.write('streamed', chunks(data, 3 * MiB + 1));
  assert.is(bodies.length, 9);
  const buffers = new Set(bodies.map((b) => b.buffer));
  assert.ok(buffers.size <= 3, `${buffers.size} part buffers for 9 parts, 2 in flight`);
  assert.ok(bodies.every((b) => b.buffer !== data.buffer), 'a stream\'s chunks are copied (its source may reuse them)');
  assert.is(await platformSha256Hex(await s.read('streamed')), await platformSha256Hex(data), 'every byte in place');
  bodies.length = 0;
  await s.write('whole', data);
  assert.is(bodies.length, 9);
  // Sent in any order (each request is signed asynchronously first).
  const views = bodies.filter((b) => b.buffer === data.buffer).map((b) => [b.byteOffset, b.length]).sort((x, y) => x[0] - y[0]);
  assert.equal(views, Array.from({ length: 8 }, (_, i) => [i * 5 * MiB, 5 * MiB]), 'whole parts are views of the value');
  assert.is(await platformSha256Hex(await s.read('whole')), await platformSha256Hex(data), 'every byte in place');
  assert.equal(await s.listUploads(), []);
  await s.remove('');
});
Up('a stream is told before its first chunk is asked for that the store copies each chunk (reuseChunks()): its source may then refill one buffer for every chunk', async () => {
  const s = new S3Store({ ...s3TestOptions(), partSize: 5 * MiB });
  const data = randomBytes(17 * MiB + 3, rng(19));
  const one = new Uint8Array(2 * MiB + 7);
  let told = false, pulledBeforeTold = false;
  async function* refilled() {
    for (let off = 0; off < data.length; off += one.length) {
      if (!told) pulledBeforeTold = true;
      const n = Math.min(one.length, data.length - off);
      one.set(data.subarray(off, off + n));
      yield one.subarray(0, n);
      one.fill(0xee); // what a source does next with its buffer
    }
  }
  const stream = Object.assign(refilled(), { reuseChunks: () => { told = true; } });
  await s.write('refilled', stream);
  assert.ok(told && !pulledBeforeTold, 'told before the first chunk');
  assert.is(await platformSha256Hex(await s.read('refilled')), await platformSha256Hex(data), 'every chunk as it was when handed over');
  await s.remove('');
});
Up('a whole-object read: one request for a small object; a large one as parallel part-sized ranged GETs after the first, every byte in place', async () => {
  let running = 0, peak = 0;
  const f = faultyFetch(async (url, init) => {
    if (init.method !== 'GET' || /list-type/.test(url)) return undefined;
    running++;
    peak = Math.max(peak, running);
    try { return await fetch(url, init); } finally { running--; }
  });
  const s = new S3Store({ ...s3TestOptions(), fetch: f, partSize: 5 * MiB, partsInFlight: 3 });
  const data = randomBytes(31 * MiB + 5, rng(9));
  await new S3Store({ ...s3TestOptions(s.prefix), partSize: 5 * MiB }).write('big', data);
  await new S3Store(s3TestOptions(s.prefix)).write('small', data.subarray(0, 1000));
  await new S3Store(s3TestOptions(s.prefix)).write('empty', new Uint8Array(0));
  const gets = () => f.log.filter((r) => r.method === 'GET').length;
  assert.equal(await s.read('small'), data.subarray(0, 1000));
  assert.is(gets(), 1);
  assert.equal(await s.read('empty'), new Uint8Array(0));
  const before = gets();
  const all = await s.read('big');
  assert.ok(all.length === data.length && all.every((b, i) => b === data[i]), 'every byte in place');
  // 10 MiB in the first GET, then 21 MiB + 5 bytes in 5 MiB parts: 5 more, up to 3 at once.
  assert.is(gets() - before, 6);
  assert.ok(peak > 1 && peak <= 3, `peak GETs in flight: ${peak}`);
  await s.remove('');
});
Up('readHashed: the whole object and its SHA-256, hashed in order while later parts are still downloading — even when they finish first', async () => {
  // The part right after the first GET is held back until the parts after it are in: the hash must still be in order.
  let release;
  const held = new Promise((r) => { release = r; });
  let laterDone = 0;
  const f = faultyFetch(async (url, init) => {
    if (init.method !== 'GET' || /list-type/.test(url)) return undefined;
    const start = Number(/bytes=(\d+)-/.exec(new Headers(init.headers).get('range') ?? '')?.[1] ?? -1);
    if (start === 10 * MiB) { await held; return undefined; }
    if (start > 10 * MiB) {
      const r = await fetch(url, init);
      const b = new Uint8Array(await r.arrayBuffer());
      if (++laterDone === 2) release();
      return new Response(b, { status: r.status, headers: r.headers });
    }
    return undefined;
  });
  const s = new S3Store({ ...s3TestOptions(), fetch: f, partSize: 5 * MiB, partsInFlight: 3 });
  const data = randomBytes(26 * MiB + 7, rng(21));
  await new S3Store({ ...s3TestOptions(s.prefix), partSize: 5 * MiB }).write('big', data);
  await new S3Store(s3TestOptions(s.prefix)).write('small', data.subarray(0, 999));
  await new S3Store(s3TestOptions(s.prefix)).write('empty', new Uint8Array(0));
  for (const [key, want] of [['big', data], ['small', data.subarray(0, 999)], ['empty', new Uint8Array(0)]]) {
    const got = await s.readHashed(key);
    assert.ok(got.bytes.length === want.length && got.bytes.every((b, i) => b === want[i]), `${key}: every byte in place`);
    assert.is(hex(got.sha256), await platformSha256Hex(want), `${key}: the SHA-256 of the bytes`);
  }
  assert.ok(laterDone >= 2, 'parts after the held one were in before it');
  assert.is((await failure(s.readHashed('absent'))).code, 'NOT_FOUND');
  await s.remove('');
});
Up('a failing source aborts the upload: the old value stays and no multipart upload is left', async () => {
  const s = new S3Store({ ...s3TestOptions(), partSize: 5 * MiB });
  await s.write('v', enc.encode('old'));
  async function* failing() { yield new Uint8Array(12 * MiB); throw new Error('tensor source failed'); }
  const e = await failure(s.write('v', failing()));
  assert.match(e.message, /tensor source failed/);
  assert.is(dec.decode(await s.read('v')), 'old');
  assert.equal(await s.listUploads(), []);
  await s.remove('');
});
Up('a part that keeps failing aborts the upload', async () => {
  const f = faultyFetch(async (url) => (/partNumber=2&/.test(url) ? new Response('<Error><Code>InternalError</Code></Error>', { status: 500 }) : undefined));
  const s = new S3Store({ ...s3TestOptions(), fetch: f, partSize: 5 * MiB, retries: 2 });
  const e = await failure(s.write('x', chunks(new Uint8Array(16 * MiB), MiB)));
  assert.is(e.code, 'IO');
  assert.match(e.message, /InternalError/);
  assert.ok(f.log.some((r) => r.method === 'DELETE' && /uploadId=/.test(r.url)), 'AbortMultipartUpload was sent');
  assert.equal(await s.listUploads(), []);
  assert.is(await s.exists('x'), false);
});
Up('abortUploads() cleans what a killed writer left (an upload never completed nor aborted)', async () => {
  const opts = s3TestOptions();
  // The "killed" writer: its Complete and Abort requests never reach RGW.
  const dead = faultyFetch(async (url, init) => (init.method === 'POST' && /uploadId=/.test(url)) || (init.method === 'DELETE' && /uploadId=/.test(url))
    ? Promise.reject(new TypeError('connection reset')) : undefined);
  await failure(new S3Store({ ...opts, fetch: dead, partSize: 5 * MiB, retries: 1 }).write('orphan', chunks(new Uint8Array(6 * MiB), MiB)));
  const s = new S3Store(opts);
  const left = await s.listUploads();
  assert.equal(left.map((u) => u.key), ['orphan']);
  assert.equal(await s.abortUploads({ olderThanMs: 3_600_000 }), [], 'a young upload is kept (it may still be running)');
  assert.equal((await s.abortUploads()).map((u) => u.key), ['orphan']);
  assert.equal(await s.listUploads(), []);
});
Up.run();

const Net = suite('S3 store: retries, timeouts, AbortSignal');
Net('retries 5xx and throttling with backoff, then succeeds', async () => {
  let n = 0;
  const f = faultyFetch(async () => (n++ < 2 ? new Response('<Error><Code>SlowDown</Code></Error>', { status: n === 1 ? 503 : 429 }) : undefined));
  const s = new S3Store({ ...s3TestOptions(), fetch: f });
  await s.write('k', enc.encode('v'));
  assert.is(s.stats.retries, 2);
  assert.is(dec.decode(await s.read('k')), 'v');
  await s.remove('');
});
Net('gives up after `retries` attempts with IO naming the last answer', async () => {
  const f = faultyFetch(async () => new Response('<Error><Code>ServiceUnavailable</Code></Error>', { status: 503 }));
  const e = await failure(new S3Store({ ...s3TestOptions(), fetch: f, retries: 3 }).read('k'));
  assert.is(e.code, 'IO');
  assert.is(f.log.length, 3);
  assert.match(e.message, /ServiceUnavailable/);
});
Net('a request without an answer times out and is retried', async () => {
  let first = true;
  const f = faultyFetch(async (url, init) => {
    if (!first) return undefined;
    first = false;
    return new Promise((_, reject) => init.signal.addEventListener('abort', () => reject(init.signal.reason)));
  });
  const s = new S3Store({ ...s3TestOptions(), fetch: f, timeoutMs: 300 });
  // A stalled real connection keeps the process alive; this fake one does not, and the timeout's timer is unref'd.
  const alive = setInterval(() => {}, 50);
  try {
    await s.write('k', enc.encode('v'));
  } finally {
    clearInterval(alive);
  }
  assert.is(s.stats.retries, 1);
  await s.remove('');
});
Net('an AbortSignal stops an upload at once and aborts it', async () => {
  const ac = new AbortController();
  const f = faultyFetch(async (url) => { if (/partNumber=2&/.test(url)) ac.abort(new Error('user cancelled')); return undefined; });
  const s = new S3Store({ ...s3TestOptions(), fetch: f, partSize: 5 * MiB, signal: ac.signal });
  const e = await failure(s.write('x', chunks(new Uint8Array(20 * MiB), MiB)));
  assert.is(e.code, 'IO');
  assert.is(e.detail, 'ABORTED');
  const clean = new S3Store(s3TestOptions(s.prefix));
  assert.equal(await clean.listUploads(), []);
  assert.is(await clean.exists('x'), false);
});
Net('an operation\'s signal reaches an S3Store the caller made: a part upload or a GET hanging in flight stops, the operation rejects with the reason, the upload is aborted', async () => {
  // RGW answers everything except the requests held here, which end only when their own signal aborts.
  const hold = (init) => new Promise((_, reject) => {
    // Before, only the store's timeout reached the request (600 s here): it hung until the bound below.
    init.signal.addEventListener('abort', () => reject(init.signal.reason), { once: true });
  });
  const tensors = { x: { dtype: 'U8', shape: [12 * MiB], data: new Uint8Array(12 * MiB) } };
  const prefix = s3TestOptions().prefix;
  const plain = new S3Store(s3TestOptions(prefix));
  await writeSafetensors({ store: plain, key: 'r.safetensors' }, tensors);
  const rangeStart = (init) => Number(/bytes=(\d+)-/.exec(new Headers(init.headers).get('range') ?? '')?.[1] ?? -1);
  const ops = {
    'writeSafetensors (part 2 held)': [(url) => /partNumber=2&/.test(url), (store, signal) => writeSafetensors({ store, key: 'w.safetensors' }, tensors, { signal })],
    'readSafetensors (the data GET held)': [(url, init) => (init.method ?? 'GET') === 'GET' && /\/r\.safetensors(\?|$)/.test(url) && rangeStart(init) >= 64,
      (store, signal) => readSafetensors({ store, key: 'r.safetensors' }, { signal, load: 'all' })],
  };
  for (const [what, [held, op]] of Object.entries(ops)) {
    const ac = new AbortController();
    const reason = new Error(`stopped: ${what}`);
    let holding = false;
    const f = faultyFetch(async (url, init) => {
      if (holding || !held(url, init)) return undefined;
      holding = true;
      setTimeout(() => ac.abort(reason), 50);
      return hold(init);
    });
    const store = new S3Store({ ...s3TestOptions(prefix), fetch: f, partSize: 5 * MiB, retries: 1, timeoutMs: 600_000 });
    let bound;
    const r = await Promise.race([op(store, ac.signal).then(() => 'resolved', (e) => e), new Promise((done) => { bound = setTimeout(() => done('still hanging 5 s after the abort'), 5100); })]);
    clearTimeout(bound);
    assert.ok(holding, `${what}: a request was held`);
    assert.is(r, reason, `${what}: ${r && r.message || r}`);
  }
  assert.equal(await plain.listUploads(), []);
  assert.is(await plain.exists('w.safetensors'), false);
  await plain.remove('');
});
Net.run();

// The default transport (node:http on Node, the runtime's fetch elsewhere), faults injected by a proxy in front
// of RGW: nothing here passes a `fetch`, so the requests go out exactly as a user's would.
const Tr = suite('S3 store: the default transport — retries, timeouts, aborts, ranges, cut and tampered bodies');

/**
 * An HTTP proxy on 127.0.0.1 in front of RGW (it forwards the Host header as signed). `hook(req, n)` may answer
 * `{ status, body }` instead of RGW, `{ stall: true }` (never answer), `{ cut: n }` (RGW's headers, then n bytes
 * of its body, then the connection closes) or `{ tamper(bytes) }` (RGW's answer with its body changed).
 */
async function faultProxy(hook) {
  const http = await import('node:http');
  const target = new URL(s3TestOptions().endpoint);
  const log = [];
  const open = new Set();
  const server = http.createServer((req, res) => {
    const body = [];
    req.on('data', (c) => body.push(c));
    req.on('end', async () => {
      const n = log.length;
      log.push({ method: req.method, url: req.url, range: req.headers.range });
      const act = (await hook(req, n)) ?? {};
      if (act.stall) return;
      if (act.status) {
        res.writeHead(act.status, { 'content-type': 'application/xml' });
        res.end(act.body ?? '');
        return;
      }
      const up = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (ur) => {
        if (act.cut === undefined && !act.tamper) {
          res.writeHead(ur.statusCode, ur.headers);
          ur.pipe(res);
          return;
        }
        const got = [];
        ur.on('data', (c) => got.push(c));
        ur.on('end', () => {
          let b = new Uint8Array(Buffer.concat(got));
          if (act.tamper) b = act.tamper(b);
          res.writeHead(ur.statusCode, ur.headers);
          if (act.cut === undefined) return res.end(b);
          res.write(b.subarray(0, act.cut), () => setTimeout(() => res.socket?.destroy(), 10));
        });
      });
      up.on('error', () => res.destroy());
      up.end(Buffer.concat(body));
    });
  });
  server.on('connection', (c) => { open.add(c); c.on('close', () => open.delete(c)); });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    log,
    endpoint: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((ok) => { for (const c of open) c.destroy(); server.close(ok); }),
  };
}

/** A store of the test bucket through `proxy`, on the default transport. */
const through = (proxy, prefix, extra = {}) => new S3Store({ ...s3TestOptions(prefix), endpoint: proxy.endpoint, ...extra });

Tr('is node:http on Node and the runtime\'s fetch elsewhere; a `fetch` passed in always wins', async () => {
  const real = globalThis.fetch;
  let calls = 0;
  globalThis.fetch = (...a) => { calls++; return real(...a); };
  try {
    const s = new S3Store(s3TestOptions());
    await s.write('k', enc.encode('v'));
    assert.is(dec.decode(await s.read('k')), 'v');
    if (runtime === 'node') assert.is(calls, 0, 'Node: no request went through fetch');
    else assert.ok(calls >= 2, `${runtime}: the requests went through fetch (${calls})`);
    let mine = 0;
    const own = new S3Store({ ...s3TestOptions(s.prefix), fetch: (...a) => { mine++; return real(...a); } });
    assert.is(dec.decode(await own.read('k')), 'v');
    assert.ok(mine >= 1, 'the fetch passed in was used');
    await s.remove('');
  } finally {
    globalThis.fetch = real;
  }
});

if (hasFs) {
  Tr('requests leave no connection holding the process open: it exits once its work is done', async () => {
    if (runtime !== 'node') return; // node:http is Node's transport; the others' fetch is theirs
    const { spawnSync } = await import('node:child_process');
    const o = s3TestOptions();
    const dist = new URL('../dist/index.js', import.meta.url).href;
    // A PUT (its empty answer must still be read out, or its connection stays taken), a read, a 404.
    const code = `const { S3Store } = await import(${JSON.stringify(dist)}); const s = new S3Store(${JSON.stringify(o)});
      await s.write('k', new Uint8Array(10)); await s.read('k'); await s.size('k'); await s.exists('nope'); await s.remove(''); console.log('done');`;
    const t0 = Date.now();
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 20_000 });
    assert.is(r.stdout.trim(), 'done', r.stderr);
    assert.is(r.signal, null, `still running after ${Date.now() - t0} ms (killed)`);
    assert.is(r.status, 0);
  });

  Tr('5xx and throttling are retried with backoff; after `retries` attempts, IO names the last answer', async () => {
    let failing = 2;
    const proxy = await faultProxy(() => (failing-- > 0 ? { status: failing === 1 ? 503 : 429, body: '<Error><Code>SlowDown</Code></Error>' } : undefined));
    try {
      const s = through(proxy);
      await s.write('k', enc.encode('v'));
      assert.is(s.stats.retries, 2);
      assert.is(dec.decode(await s.read('k')), 'v');
      failing = Infinity;
      const before = proxy.log.length;
      const e = await failure(through(proxy, s.prefix, { retries: 3 }).read('k'));
      assert.is(e.code, 'IO');
      assert.match(e.message, /SlowDown/);
      assert.is(proxy.log.length - before, 3);
      failing = 0;
      await s.remove('');
    } finally {
      await proxy.close();
    }
  });

  Tr('a request left without an answer times out and is retried on a new connection', async () => {
    let stall = 1;
    const proxy = await faultProxy((req) => (req.method === 'GET' && stall-- > 0 ? { stall: true } : undefined));
    try {
      const s = through(proxy, undefined, { timeoutMs: 500 });
      await s.write('k', enc.encode('timed'));
      const t0 = Date.now();
      assert.is(dec.decode(await s.read('k')), 'timed');
      assert.is(s.stats.retries, 1);
      assert.ok(Date.now() - t0 < 10_000, `took ${Date.now() - t0} ms`);
      await s.remove('');
    } finally {
      await proxy.close();
    }
  });

  Tr('an AbortSignal stops a request hanging in flight at once: the store\'s gives IO ABORTED, an operation\'s its reason', async () => {
    let stall = false;
    const proxy = await faultProxy((req) => (stall && req.method === 'GET' ? { stall: true } : undefined));
    try {
      const ac = new AbortController();
      const s = through(proxy, undefined, { signal: ac.signal, timeoutMs: 600_000 });
      await s.write('k', enc.encode('v'));
      stall = true;
      setTimeout(() => ac.abort(new Error('user cancelled')), 100);
      const t0 = Date.now();
      const e = await failure(s.read('k'));
      assert.is(e.code, 'IO');
      assert.is(e.detail, 'ABORTED');
      assert.ok(Date.now() - t0 < 5000, `stopped after ${Date.now() - t0} ms`);
      const op = new AbortController();
      const reason = new Error('operation stopped');
      setTimeout(() => op.abort(reason), 100);
      const r = await readSafetensors({ store: through(proxy, s.prefix, { timeoutMs: 600_000 }), key: 'k' }, { signal: op.signal }).then(() => 'resolved', (x) => x);
      assert.is(r, reason);
      stall = false;
      await new S3Store(s3TestOptions(s.prefix)).remove('');
    } finally {
      await proxy.close();
    }
  });

  Tr('ranged reads: one GET for a small range, part-sized GETs for a large one, every byte in place; a 404 is NOT_FOUND', async () => {
    const proxy = await faultProxy(() => undefined);
    try {
      const s = through(proxy, undefined, { partSize: 5 * MiB, partsInFlight: 3 });
      const data = randomBytes(17 * MiB + 3, rng(31));
      await s.write('big', data);
      const gets = () => proxy.log.filter((r) => r.method === 'GET');
      const n0 = gets().length;
      assert.equal(await s.read('big', { start: 7, end: 1000 }), data.subarray(7, 1000));
      assert.equal(gets().slice(n0).map((r) => r.range), ['bytes=7-999']);
      const n1 = gets().length;
      const mid = await s.read('big', { start: MiB + 1, end: 16 * MiB + 1 });
      assert.ok(mid.length === 15 * MiB && mid.every((b, i) => b === data[MiB + 1 + i]), 'every byte of the range in place');
      assert.equal(gets().slice(n1).map((r) => r.range).sort(), [`bytes=${MiB + 1}-${6 * MiB}`, `bytes=${11 * MiB + 1}-${16 * MiB}`, `bytes=${6 * MiB + 1}-${11 * MiB}`].sort(), '15 MiB in 5 MiB parts');
      const all = await s.read('big');
      assert.ok(all.length === data.length && all.every((b, i) => b === data[i]), 'the whole object');
      const { bytes, sha256 } = await s.readHashed('big');
      assert.is(bytes.length, data.length);
      assert.is(hex(sha256), await platformSha256Hex(data));
      assert.is((await failure(s.read('absent'))).code, 'NOT_FOUND');
      await s.remove('');
    } finally {
      await proxy.close();
    }
  });

  Tr('a body cut short is IO (the connection closed midway); a tampered one fails verification with INTEGRITY naming the tensor', async () => {
    const prefix = s3TestOptions().prefix;
    const plain = new S3Store(s3TestOptions(prefix));
    const w = new Float32Array(3 * MiB).map((_, i) => (i % 251) / 7);
    await writeSafetensors({ store: plain, key: 'm.safetensors' }, { w: { dtype: 'F32', shape: [w.length], data: w }, b: { dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) } });
    let mode = 'cut';
    const proxy = await faultProxy((req) => {
      if (req.method !== 'GET' || !/m\.safetensors(\?|$)/.test(req.url) || !req.headers.range || /bytes=0-7$/.test(req.headers.range)) return undefined;
      const [a, b] = /bytes=(\d+)-(\d+)/.exec(req.headers.range).slice(1).map(Number);
      if (b - a < MiB) return undefined; // the header
      return mode === 'cut' ? { cut: 1000 } : { tamper: (x) => { const y = x.slice(); y[y.length >> 1] ^= 1; return y; } };
    });
    try {
      const e = await failure(readSafetensors({ store: through(proxy, prefix, { partSize: 5 * MiB }), key: 'm.safetensors' }, { load: 'all' }));
      assert.is(e.code, 'IO');
      assert.match(e.message, /midway|closed|aborted|socket/i);
      const c = await failure(through(proxy, prefix, { partSize: 5 * MiB }).read('m.safetensors', { start: 64, end: 64 + 2 * MiB }));
      assert.is(c.code, 'IO', 'a ranged read cut short');
      mode = 'tamper';
      const t = await failure(readSafetensors({ store: through(proxy, prefix, { partSize: 5 * MiB }), key: 'm.safetensors' }, { load: 'all' }));
      assert.is(t.code, 'INTEGRITY');
      assert.is(t.detail, 'TENSOR_HASH_MISMATCH');
      assert.is(t.tensor, 'w');
      await plain.remove('');
    } finally {
      await proxy.close();
    }
  });
}
Tr.run();

const Cred = suite('S3 store: endpoint, credentials and errors');
Cred('reads AWS_* variables from an env object (workerd, browsers) or the process environment', async () => {
  const o = s3TestOptions();
  const env = { AWS_ENDPOINT_URL: o.endpoint, AWS_REGION: o.region, AWS_ACCESS_KEY_ID: o.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: o.credentials.secretAccessKey };
  const s = new S3Store({ bucket: o.bucket, prefix: o.prefix, env });
  assert.is(s.endpoint, o.endpoint);
  await s.write('a', enc.encode('x'));
  if (hasFs) {
    const saved = {};
    for (const [k, v] of Object.entries(env)) { saved[k] = process.env[k]; process.env[k] = v; }
    try {
      const { store, key } = resolveSource(`s3://${o.bucket}/${o.prefix}/a`);
      assert.is(dec.decode(await store.read(key)), 'x');
    } finally {
      for (const [k, v] of Object.entries(saved)) { if (v === undefined) delete process.env[k]; else process.env[k] = v; }
    }
  }
  await s.remove('');
});
Cred('a wrong secret is AUTH; no credentials at all is AUTH saying which variables to set; a missing bucket is NOT_FOUND', async () => {
  const o = s3TestOptions();
  const wrong = await failure(new S3Store({ ...o, credentials: { ...o.credentials, secretAccessKey: 'wrong' }, retries: 1 }).read('x'));
  if (isBrowser) {
    // RGW sends its 403 without CORS headers: a page sees a network error, and the message says what to check.
    assert.is(wrong.code, 'IO');
    assert.match(wrong.message, /CORS/);
  } else assert.is(wrong.code, 'AUTH');
  const none = await failure(new S3Store({ bucket: o.bucket, endpoint: o.endpoint, env: {} }).read('x'));
  assert.is(none.code, 'AUTH');
  assert.match(none.message, /AWS_ACCESS_KEY_ID/);
  const e = await failure(new S3Store({ ...o, bucket: 'no-such-bucket-here', retries: 1 }).write('x', new Uint8Array(1)));
  assert.match(e.message, /no-such-bucket-here/);
  // A bucket that does not exist has no CORS rules either: a page sees a network error.
  assert.is(e.code, isBrowser ? 'IO' : 'NOT_FOUND');
});
Cred.run();

const Fmt = suite('S3 store: safetensors over ranged GETs, verified per tensor');
Fmt('writes a model with its sidecar in place, reads one tensor with a few small requests, verifies and signs', async () => {
  const s = new S3Store(s3TestOptions());
  const big = new Float32Array(2 * MiB).map((_, i) => i % 97);
  const small = new Float32Array([1, 2, 3, 4]);
  await writeSafetensors({ store: s, key: 'm/model.safetensors' }, { big: { dtype: 'F32', shape: [big.length], data: big }, small: { dtype: 'F32', shape: [4], data: small } });
  assert.equal((await s.list('m')).map((e) => e.key), ['m/model.safetensors', 'm/model.safetensors.meta.json'], 'no temporary key, nothing copied');
  const reader = new S3Store(s3TestOptions(s.prefix));
  const file = await readSafetensors({ store: reader, key: 'm/model.safetensors' });
  const t = await file.tensor('small');
  assert.equal(Array.from(t.toFloat32()), [1, 2, 3, 4]);
  assert.ok(reader.stats.bytesIn < 64 * 1024, `fetched ${reader.stats.bytesIn} bytes for a 16-byte tensor of an 8 MiB file`);
  const report = await verify({ store: reader, key: 'm/model.safetensors' });
  assert.is(report.ok, true);
  const key = enc.encode('k'.repeat(32));
  await sign({ store: s, key: 'm/model.safetensors' }, key);
  assert.is((await verify({ store: reader, key: 'm/model.safetensors' }, { key })).ok, true);
  // Damage one byte of the big tensor: the small one still loads (verified alone), the big one is INTEGRITY.
  const bytes = await s.read('m/model.safetensors');
  const bad = bytes.slice();
  bad[bad.length >> 1] ^= 1; // inside 'big' (8 MiB of the file's 8 MiB + 16 bytes)
  await s.write('m/model.safetensors', bad);
  const again = await readSafetensors({ store: new S3Store(s3TestOptions(s.prefix)), key: 'm/model.safetensors' });
  assert.equal(Array.from((await again.tensor('small')).toFloat32()), [1, 2, 3, 4]);
  assert.is((await failure(again.tensor('big'))).code, 'INTEGRITY');
  await s.remove('');
});
Fmt('a verified load lends each range it fetched to the hashing workers, uncopied (its memory is the reader\'s): the same values, and a changed byte is INTEGRITY naming the tensor', async () => {
  const s = new S3Store(s3TestOptions());
  // Lent, not copied: only a store whose reads return fresh memory the caller owns may hand it to a worker.
  assert.ok(freshReads(s), 'an S3 read is fresh memory');
  assert.not.ok(freshReads(new MemoryStore()), 'a memory store hands out what it holds');
  const a = new Float32Array(3 * MiB).map((_, i) => (i * 7) % 251);
  const b = new Float32Array(MiB + 3).map((_, i) => i % 13);
  await writeSafetensors({ store: s, key: 'w/model.safetensors' }, { a: { dtype: 'F32', shape: [a.length], data: a }, b: { dtype: 'F32', shape: [b.length], data: b } });
  const file = await readSafetensors({ store: s, key: 'w/model.safetensors' }, { load: 'all', workers: 2 });
  assert.equal(file.tensors.a.toFloat32(), a);
  assert.equal(file.tensors.b.toFloat32(), b);
  const bytes = await s.read('w/model.safetensors');
  const bad = bytes.slice();
  bad[bad.length - 5] ^= 1; // inside 'b', the last tensor
  await s.write('w/model.safetensors', bad);
  const e = await failure(readSafetensors({ store: s, key: 'w/model.safetensors' }, { load: 'all', workers: 2 }));
  assert.is(e.code, 'INTEGRITY');
  assert.match(e.message, /\bb\b/);
  await s.remove('');
});
Fmt.run();

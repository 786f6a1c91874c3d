// HTTP sources against servers that misbehave on purpose (test/run.js starts
// them): one that never answers, one that sends a byte per second, a gzip
// bomb. Every request is bounded in time (IO/TIMEOUT), a caller's AbortSignal
// ends it (IO/ABORTED), identity encoding is asked for, and a compressed body
// is bounded in size (IO/BODY_TOO_LARGE).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { HttpStore, S3Store, readSafetensors, writeSafetensors, verify, loadCheckpoint, resolveSource, readTorchFile, CheckpointError } from '../dist/index.js';
import { runtime, testEnv } from './_env.js';

const base = testEnv('SAFECKPT_TEST_HTTP_HOSTILE');
// Short bounds for the test; the default is 30 s. Nothing here asserts how long anything took.
const FAST = { timeoutMs: 400 };

async function caught(p) {
  try { await p; } catch (e) { return e; }
  assert.unreachable('expected a rejection');
}
const typed = (e, code, detail) => {
  assert.ok(e instanceof CheckpointError, `not a CheckpointError: ${e && e.stack}`);
  assert.equal([e.code, e.detail], [code, detail], e.message);
  return e;
};

const H = suite(`HTTP against misbehaving servers (${runtime})`);

H('a server that never answers: every entry point fails with IO/TIMEOUT', async () => {
  const ref = resolveSource(`${base}/never/m.safetensors`, { http: FAST });
  typed(await caught(ref.store.read(ref.key, { start: 0, end: 8 })), 'IO', 'TIMEOUT');
  typed(await caught(ref.store.size(ref.key)), 'IO', 'TIMEOUT');
  typed(await caught(readSafetensors(ref)), 'IO', 'TIMEOUT');
  typed(await caught(verify(ref)), 'IO', 'TIMEOUT');
  typed(await caught(readTorchFile(resolveSource(`${base}/never/m.pt`, { http: FAST }))), 'IO', 'TIMEOUT');
  const e = typed(await caught(new HttpStore(`${base}/never/`, FAST).read('x')), 'IO', 'TIMEOUT');
  assert.match(e.message, 'timeout');
});

H('a server that sends one byte per second trips the same bound (progress, not just any byte)', async () => {
  const store = new HttpStore(`${base}/slow/`, FAST);
  typed(await caught(store.read('m.safetensors')), 'IO', 'TIMEOUT');
  typed(await caught(store.read('m.safetensors', { start: 0, end: 8 })), 'IO', 'TIMEOUT');
});

H('an AbortSignal ends a request at once: IO/ABORTED, before or during it', async () => {
  const early = new AbortController();
  early.abort(new Error('stop'));
  typed(await caught(new HttpStore(`${base}/never/`, { signal: early.signal }).read('x')), 'IO', 'ABORTED');
  const late = new AbortController();
  const p = new HttpStore(`${base}/never/`, { signal: late.signal, timeoutMs: Infinity }).read('x', { start: 0, end: 8 });
  setTimeout(() => late.abort(), 50);
  typed(await caught(p), 'IO', 'ABORTED');
  const slow = new AbortController();
  const q = new HttpStore(`${base}/slow/`, { signal: slow.signal, timeoutMs: Infinity }).read('x');
  setTimeout(() => slow.abort(), 50);
  typed(await caught(q), 'IO', 'ABORTED');
});

H('a store the caller made gets the operation\'s signal on each call: a request hanging in flight stops, and the operation rejects with the signal\'s reason', async () => {
  // What a store author writes (docs/progress-and-abort.md): pass opts.signal to the request.
  const own = {
    kind: 'mine', readOnly: true, remote: true,
    describe: (k) => `${base}/never/${k}`,
    async read(key, range, opts) {
      const r = await fetch(`${base}/never/${key}`, { headers: range ? { Range: `bytes=${range.start}-${range.end - 1}` } : {}, signal: opts?.signal });
      return new Uint8Array(await r.arrayBuffer());
    },
    async size(key, opts) { return (await this.read(key, undefined, opts)).length; },
    async exists() { return true; },
    async list() { return []; },
  };
  const hangingWrites = {
    kind: 'hanging', readOnly: false, describe: (k) => `hanging:${k}`,
    write: (key, data, opts) => new Promise((_, reject) => opts?.signal?.addEventListener('abort', () => reject(new Error('request cancelled')), { once: true })),
    async size() { return 0; }, async read() { return new Uint8Array(0); }, async exists() { return false; }, async list() { return []; },
    async rename() {}, async remove() {}, async sync() {},
  };
  const s3 = () => new S3Store({ endpoint: `${base}/never`, bucket: 'hung-bucket', region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 's' }, timeoutMs: 600_000, retries: 1 });
  const ops = {
    'readSafetensors, an HttpStore': (signal) => readSafetensors({ store: new HttpStore(`${base}/never/`, { timeoutMs: Infinity }), key: 'm.safetensors' }, { signal }),
    'verify, an HttpStore': (signal) => verify({ store: new HttpStore(`${base}/never/`, { timeoutMs: Infinity }), key: 'm.safetensors' }, { signal }),
    'readSafetensors, a store of its own': (signal) => readSafetensors({ store: own, key: 'm.safetensors' }, { signal }),
    'loadCheckpoint, an S3Store': (signal) => loadCheckpoint({ store: s3(), key: 'ck' }, { signal }),
    'writeSafetensors, a store of its own whose write hangs until its signal aborts': (signal) => writeSafetensors({ store: hangingWrites, key: 'w.safetensors' }, { x: { dtype: 'F32', shape: [2], data: new Float32Array(2) } }, { signal }),
  };
  for (const [what, op] of Object.entries(ops)) {
    const ac = new AbortController();
    const reason = new Error(`stopped: ${what}`);
    const p = op(ac.signal).then(() => 'resolved', (e) => e);
    setTimeout(() => ac.abort(reason), 100);
    // Before, the request in flight never saw the signal: it hung (timeouts are off here) until the bound below.
    let bound;
    const r = await Promise.race([p, new Promise((done) => { bound = setTimeout(() => done('still hanging 5 s after the abort'), 5100); })]);
    clearTimeout(bound);
    assert.is(r, reason, `${what}: ${r && r.message || r}`);
  }
});

H('a gzip bomb is never inflated past the decoded-size bound (IO/BODY_TOO_LARGE), and the default bound holds too', async () => {
  // Node inflates a gzip answer and is cut off at the bound; Deno leaves it encoded when the caller asked for
  // identity, so its 16 KiB arrive as they are (and parse as nothing); Chromium refuses an encoding it did not
  // ask for (a network error, IO). Either way memory stays bounded.
  const bounded = (r) => {
    if (r instanceof Uint8Array) assert.ok(runtime === 'deno' && r.length < 1 << 20, `${runtime}: ${r.length} bytes returned`);
    else if (runtime === 'chromium') assert.ok(r instanceof CheckpointError && r.code === 'IO', String(r));
    else typed(r, 'IO', 'BODY_TOO_LARGE');
  };
  const settle = (p) => p.then((v) => v, (e) => e);
  bounded(await settle(new HttpStore(`${base}/gzip/`, { maxDecodedBytes: 1 << 20 }).read('m.safetensors')));
  bounded(await settle(new HttpStore(`${base}/gzip/`, { maxDecodedBytes: 1 << 20 }).read('m.safetensors', { start: 0, end: 8 }).then(() => new Uint8Array(0))));
  const e = await caught(readSafetensors(resolveSource(`${base}/gzip/m.safetensors`, { http: { maxDecodedBytes: 4 << 20 } })));
  assert.ok(e instanceof CheckpointError && (e.detail === 'BODY_TOO_LARGE' || (runtime === 'deno' && e.code === 'CORRUPT') || (runtime === 'chromium' && e.code === 'IO')), `${e && e.code} ${e && e.detail}`);
});

H('a bad timeout option is a typed error', () => {
  for (const t of [0, -1, NaN]) {
    let e;
    try { new HttpStore(`${base}/never/`, { timeoutMs: t }); } catch (x) { e = x; }
    typed(e, 'UNSUPPORTED', 'INVALID_OPTION');
  }
});

if (runtime !== 'chromium') {
  // Browsers negotiate encodings themselves (Accept-Encoding is theirs to set).
  H('requests ask for identity encoding', async () => {
    const store = new HttpStore(`${base}/encoding/`);
    const sent = JSON.parse(new TextDecoder().decode(await store.read('x.json')));
    assert.is(sent['accept-encoding'], 'identity');
  });
}

if (runtime === 'node') {
  H('CLI: --timeout bounds inspect and verify (exit 1, IO/TIMEOUT as JSON, the URL\'s token redacted); a bad value is a usage error', async () => {
    const { spawn } = await import('node:child_process');
    const { fileURLToPath } = await import('node:url');
    const cli = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
    const run = (args) => new Promise((done) => {
      const c = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '', err = '';
      c.stdout.on('data', (d) => { out += d; });
      c.stderr.on('data', (d) => { err += d; });
      c.on('close', (status) => done({ status, out, err }));
    });
    for (const cmd of ['inspect', 'verify']) {
      const r = await run([cmd, `${base}/never/m.safetensors?token=s3cr3t`, '--timeout', '0.4', '--json']);
      assert.is(r.status, 1, r.err);
      const last = JSON.parse(r.out.trim().split('\n').pop());
      assert.equal([last.ok, last.code, last.detail], [false, 'IO', 'TIMEOUT']);
      assert.not.match(r.out + r.err, 's3cr3t', 'the token is redacted in --json output');
      assert.match(last.path, 'token=REDACTED');
    }
    assert.is((await run(['inspect', `${base}/never/m.safetensors`, '--timeout', 'soon'])).status, 2);
  });
}

H.run();

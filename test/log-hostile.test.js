// Log calls never throw, whatever their fields hold; close() never waits for
// ever on a sink; the file sink cleans up after a process killed mid-write and
// is bounded on files that are not ordinary (/proc).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CircularLog, memorySink, fileSink, CheckpointError } from '../dist/index.js';
import { isBrowser, runtime, tempDir } from './_env.js';

const L = suite('log calls never throw, whatever the fields hold');

const hostile = () => ({
  getter: Object.defineProperty({}, 'x', { enumerable: true, get() { throw new Error('getter boom'); } }),
  proxy: new Proxy({}, { ownKeys() { throw new Error('ownKeys boom'); }, get() { throw new Error('get boom'); } }),
  toStr: { toString() { throw new Error('toString boom'); }, toJSON() { throw new Error('toJSON boom'); } },
  revoked: (() => { const r = Proxy.revocable({}, {}); r.revoke(); return r.proxy; })(),
});

L('a throwing getter, Proxy trap, toJSON or toString in fields (or as the message) is recorded, not thrown', async () => {
  const sink = memorySink();
  const log = new CircularLog({ capacity: 16, flushIntervalMs: Infinity, sink });
  const h = hostile();
  const bad = [
    h.getter, { a: h.getter }, { p: h.proxy }, h.proxy, { t: h.toStr }, h.toStr, h.revoked, { r: h.revoked },
    Object.defineProperty({ ok: 1 }, 'bad', { enumerable: true, get() { throw new Error('one field'); } }),
  ];
  for (const fields of bad) log.info('m', fields);
  log.info(h.toStr);
  log.info(h.proxy, h.proxy);
  log.log(h.toStr, 'not a level');
  log.error('urgent', { p: h.proxy });
  await log.close();
  const records = sink.records;
  assert.is(records.length, bad.length + 3, 'every call made one record (the bad level none)');
  for (const r of records) {
    assert.type(r.msg, 'string');
    assert.ok(r.time && r.level, JSON.stringify(r));
  }
  // A readable field survives next to one that throws.
  const mixed = records[bad.length - 1];
  assert.is(mixed.ok, 1);
  assert.match(mixed.bad, 'one field');
});

L('a field named __proto__ is a field, not a prototype change', async () => {
  const sink = memorySink();
  const log = new CircularLog({ capacity: 4, flushIntervalMs: Infinity, sink });
  const f = JSON.parse('{"__proto__": {"polluted": true}, "e": 1}');
  f.err = new Error('x'); // takes the careful (rewrite) path
  log.info('m', f);
  await log.close();
  const r = sink.records[0];
  assert.ok(Object.prototype.hasOwnProperty.call(r, '__proto__'));
  assert.is(({}).polluted, undefined);
});

L('close() does not wait for ever on a sink that never settles: IO/SINK_TIMEOUT after closeTimeoutMs', async () => {
  const never = { write() { return new Promise(() => {}); } };
  const log = new CircularLog({ capacity: 4, flushIntervalMs: 0, sink: never, closeTimeoutMs: 100 });
  log.error('pending forever');
  let e;
  try { await log.close(); } catch (x) { e = x; }
  assert.ok(e instanceof CheckpointError, String(e));
  assert.equal([e.code, e.detail], ['IO', 'SINK_TIMEOUT']);
  const closing = { write() {}, close() { return new Promise(() => {}); } };
  const log2 = new CircularLog({ capacity: 4, flushIntervalMs: 0, sink: closing, closeTimeoutMs: 100 });
  log2.info('x');
  e = undefined;
  try { await log2.close(); } catch (x) { e = x; }
  assert.is(e && e.detail, 'SINK_TIMEOUT');
  let bad;
  try { new CircularLog({ capacity: 4, flushIntervalMs: 0, sink: closing, closeTimeoutMs: 0 }); } catch (x) { bad = x; }
  assert.is(bad && bad.detail, 'INVALID_OPTION');
});
L.run();

if (!isBrowser) {
  const F = suite(`fileSink leftovers and special files (${runtime})`);
  F('temporary files a killed writer left are removed when the log is opened again; other files stay', async () => {
    const fs = await import('node:fs/promises');
    const dir = await tempDir();
    const file = `${dir}/train.log`;
    const left = [`${file}.tmp-lq2x9-0a1b2c3d`, `${file}.tmp-abc-ffffffff`];
    for (const l of left) await fs.writeFile(l, 'half a snapshot');
    const keep = [`${dir}/other.log.tmp-lq2x9-0a1b2c3d`, `${dir}/train.log.tmp-notours`, `${dir}/train.log`];
    for (const k of keep) await fs.writeFile(k, 'keep');
    const sink = await fileSink(file);
    const names = (await fs.readdir(dir)).sort();
    assert.equal(names, ['other.log.tmp-lq2x9-0a1b2c3d', 'train.log', 'train.log.tmp-notours']);
    const log = new CircularLog({ capacity: 4, flushIntervalMs: 0, sink });
    log.info('hello');
    await log.close();
    assert.match(await fs.readFile(file, 'utf8'), 'hello');
  });
  if (runtime === 'node' || runtime === 'deno') {
    F('a log file under /proc fails with a typed error instead of spinning (mkdir -p there never returned)', async () => {
      for (const path of ['/proc/self/safeckpt-test.log', '/proc/safeckpt-x/y/z.log', '/proc/self/fd/99999/x.log']) {
        let e;
        try {
          const sink = await fileSink(path);
          const log = new CircularLog({ capacity: 4, flushIntervalMs: 0, sink, closeTimeoutMs: 2000 });
          log.error('x');
          await log.close();
        } catch (x) { e = x; }
        assert.ok(e instanceof CheckpointError, `${path}: ${e && e.stack}`);
        assert.is(e.code, 'IO', path);
      }
    });
  }
  F.run();
}

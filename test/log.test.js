import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  CircularLog, memorySink, consoleSink, fileSink, opfsSink, loggerFrom, silentLogger, CheckpointError,
} from '../dist/internal.js';
import { runtime, isBrowser, hasFs, tempDir } from './_env.js';

/** A clock and timer the test moves by hand; advance() runs due callbacks in time order. */
function fakeTime(start = 1_700_000_000_000) {
  let now = start;
  let id = 0;
  const timers = new Map();
  return {
    clock: () => now,
    timer: {
      set(fn, ms) { const h = ++id; timers.set(h, { at: now + ms, fn }); return h; },
      clear(h) { timers.delete(h); },
    },
    advance(ms) {
      const end = now + ms;
      for (;;) {
        let next = null;
        for (const [h, t] of timers) if (t.at <= end && (!next || t.at < next[1].at)) next = [h, t];
        if (!next) break;
        timers.delete(next[0]);
        now = Math.max(now, next[1].at);
        next[1].fn();
      }
      now = end;
    },
    get armed() { return timers.size; },
  };
}

/** A sink that remembers when each write happened (by the fake clock) and what it held. */
function timedSink(t) {
  const m = memorySink();
  const at = [];
  return { m, at, write(b) { at.push(t.clock()); m.write(b); }, close() { m.close(); } };
}

const ids = (records) => records.map((r) => r.i);
const range = (a, b) => Array.from({ length: b - a }, (_, k) => a + k);

// ---------------------------------------------------------------- timing
const Timing = suite('CircularLog flush timing (injected clock)');

Timing('writes nothing before the interval and everything at it', () => {
  const t = fakeTime();
  const s = timedSink(t);
  const log = new CircularLog({ capacity: 100, flushIntervalMs: 1000, sink: s, clock: t.clock, timer: t.timer });
  log.info('a', { i: 0 });
  t.advance(400);
  log.info('b', { i: 1 });
  t.advance(599);
  assert.is(s.m.records.length, 0, 'nothing before 1000 ms');
  t.advance(1);
  assert.equal(ids(s.m.records), [0, 1]);
  assert.equal(s.m.writes.map((w) => w.reason), ['interval']);
  assert.is(t.armed, 0, 'no timer left once everything is written');
});

Timing('never writes more often than the interval, and loses nothing', () => {
  const t = fakeTime();
  const s = timedSink(t);
  const log = new CircularLog({ capacity: 1000, flushIntervalMs: 100, sink: s, clock: t.clock, timer: t.timer });
  for (let i = 0; i < 1000; i++) { log.info('tick', { i }); t.advance(1 + (i % 3)); }
  t.advance(100);
  const gaps = s.at.slice(1).map((x, k) => x - s.at[k]);
  assert.ok(gaps.every((g) => g >= 100), `gaps ${gaps}`);
  assert.ok(s.at.length >= 15 && s.at.length <= 21, `${s.at.length} writes for ~2000 ms`);
  assert.equal(ids(s.m.records), range(0, 1000));
});

Timing('an interval write waits a full interval after an ERROR write', () => {
  const t = fakeTime();
  const s = timedSink(t);
  const log = new CircularLog({ capacity: 100, flushIntervalMs: 1000, sink: s, clock: t.clock, timer: t.timer });
  log.info('x', { i: 0 });
  t.advance(900);
  log.error('now', { i: 1 });            // written at once, at t=900
  log.info('y', { i: 2 });
  t.advance(999);                        // t=1899: the ERROR write restarted the interval
  assert.equal(s.at.map((x) => x - s.at[0]), [0]);
  t.advance(1);
  assert.equal(s.at.map((x) => x - s.at[0]), [0, 1000]);
  assert.equal(ids(s.m.records), [0, 1, 2]);
  assert.equal(s.m.writes.map((w) => w.reason), ['error', 'interval']);
});

Timing('ERROR and CRITICAL are written before the call returns; flushIntervalMs Infinity arms no timer', () => {
  const t = fakeTime();
  const s = timedSink(t);
  const log = new CircularLog({ capacity: 10, flushIntervalMs: Infinity, sink: s, clock: t.clock, timer: t.timer });
  log.warn('w', { i: 0 });
  assert.is(t.armed, 0);
  log.critical('c', { i: 1 });
  assert.equal(ids(s.m.records), [0, 1]);
  log.error('e', { i: 2 });
  assert.equal(ids(s.m.records), [0, 1, 2]);
});

Timing('the level threshold drops lower records; the default is INFO', () => {
  const m = memorySink();
  const log = new CircularLog({ capacity: 10, flushIntervalMs: Infinity, sink: m });
  assert.is(log.level, 'INFO');
  log.debug('no'); log.info('yes');
  log.level = 'ERROR';
  log.warn('no'); log.error('yes too');
  log.flush();
  assert.equal(m.records.map((r) => r.msg), ['yes', 'yes too']);
  assert.is(log.stats.records, 2);
});

// ---------------------------------------------------------------- ring
const Ring = suite('CircularLog ring');

Ring('keeps the last capacity records; a full ring of unwritten records writes before overwriting', () => {
  const t = fakeTime();
  const m = memorySink();
  const log = new CircularLog({ capacity: 4, flushIntervalMs: 1e6, sink: m, clock: t.clock, timer: t.timer });
  for (let i = 0; i < 10; i++) log.info('r', { i });
  assert.equal(m.writes.map((w) => [w.reason, w.records]), [['overflow', 4], ['overflow', 4]]);
  assert.equal(ids(m.records), range(0, 8));
  assert.equal(ids(log.records()), [6, 7, 8, 9], 'the ring holds the newest 4');
  log.flush();
  assert.equal(ids(m.records), range(0, 10), 'every record reached the sink once, in order');
  assert.equal(m.snapshot.trim().split('\n').map((l) => JSON.parse(l).i), [6, 7, 8, 9]);
  assert.is(log.stats.lost, 0);
});

Ring('200,000 records through a ring of 16 arrive complete and in order', () => {
  let seen = 0, ok = true;
  const sink = { write(b) { for (const l of b.lines) { if (JSON.parse(l).i !== seen) ok = false; seen++; } } };
  const log = new CircularLog({ capacity: 16, flushIntervalMs: Infinity, sink });
  for (let i = 0; i < 200_000; i++) log.debug('d', { i }), log.info('r', { i });
  log.flush();
  assert.ok(ok);
  assert.is(seen, 200_000);
});

Ring('records are { time, level, msg, ...fields } JSON, fields cannot shadow them, odd values survive', () => {
  const t = fakeTime(Date.UTC(2026, 0, 2, 3, 4, 5, 6));
  const m = memorySink();
  const log = new CircularLog({ capacity: 8, flushIntervalMs: 1e6, sink: m, clock: t.clock, timer: t.timer });
  const cyc = { a: 1 }; cyc.self = cyc;
  const fields = { step: 3, loss: 0.25, level: 'fake', big: 2n ** 70n, cyc, err: new TypeError('bad shape') };
  log.warn('odd', fields);
  fields.step = 99;                       // later mutation does not change what was logged
  log.info('plain');
  log.info('ckpt', { err: new CheckpointError('INTEGRITY', 'hash differs', { path: 'm.safetensors' }) });
  log.flush();
  const [a, b, c] = m.records;
  assert.equal(Object.keys(a).slice(0, 3), ['time', 'level', 'msg']);
  assert.is(a.time, '2026-01-02T03:04:05.006Z');
  assert.is(a.level, 'WARN');
  assert.is(a.step, 3);
  assert.is(a._level, 'fake');
  assert.is(a.big, '1180591620717411303424');
  assert.is(a.cyc.self, '[Circular]');
  assert.is(a.err.name, 'TypeError');
  assert.is(a.err.message, 'bad shape');
  assert.equal(b, { time: a.time, level: 'INFO', msg: 'plain' });
  assert.equal({ code: c.err.code, path: c.err.path }, { code: 'INTEGRITY', path: 'm.safetensors' });
});

Ring('rejects bad options with UNSUPPORTED/INVALID_OPTION', () => {
  const m = memorySink();
  for (const bad of [{ capacity: 0 }, { capacity: 1.5 }, { flushIntervalMs: -1 }, { flushIntervalMs: NaN }, { sink: {} }, { level: 'LOUD' }]) {
    try {
      new CircularLog({ capacity: 4, flushIntervalMs: 10, sink: m, ...bad });
      assert.unreachable(JSON.stringify(bad));
    } catch (e) {
      assert.instance(e, CheckpointError);
      assert.is(e.code, 'UNSUPPORTED');
      assert.is(e.detail, 'INVALID_OPTION');
    }
  }
});

// ---------------------------------------------------------------- re-entrancy and failures
const Reentry = suite('CircularLog records emitted during a write');

Reentry('a sink that logs while writing: its records are kept and written next', async () => {
  let log;
  const m = memorySink();
  const sink = { write(b) { m.write(b); log.info('sink wrote', { n: b.lines.length }); } };
  log = new CircularLog({ capacity: 8, flushIntervalMs: Infinity, sink });
  log.info('one');
  await log.flush();
  assert.equal(m.records.map((r) => r.msg), ['one']);
  await log.close();
  assert.equal(m.records.map((r) => r.msg), ['one', 'sink wrote', 'sink wrote']);
  assert.is(log.stats.droppedAfterClose, 1, 'the sink logged once more during the last write, after close');
});

Reentry('records an async sink logs from its own callbacks are delivered, by close() at the latest', async () => {
  let log;
  const m = memorySink();
  const sink = {
    async write(b) {
      log.info('sink started', { n: b.lines.length });
      await new Promise((r) => setTimeout(r, 5));
      m.write(b);
      log.warn('sink finished', { n: b.lines.length });
    },
  };
  log = new CircularLog({ capacity: 8, flushIntervalMs: 1, sink });
  log.info('one');
  // Until the first write has finished (not a fixed wait: under load, or in workerd where the whole run is
  // one request, 30 ms were not always enough, and what a sink logs after close() is dropped by design).
  while (m.records.length === 0) await new Promise((r) => setTimeout(r, 1));
  await log.close();
  const msgs = m.records.map((r) => r.msg);
  assert.is(msgs[0], 'one');
  assert.ok(msgs.includes('sink started') && msgs.includes('sink finished'), msgs.join());
  assert.is(log.stats.lost, 0);
});

Reentry('a sink that logs an ERROR on every write does not loop forever', () => {
  let log, writes = 0;
  const sink = { write() { writes++; log.error('sink complains'); } };
  log = new CircularLog({ capacity: 8, flushIntervalMs: Infinity, sink });
  log.error('first');
  assert.ok(writes >= 2 && writes <= 3, `${writes} writes`);
});

Reentry('records emitted while an async write is in flight, even past the ring, are all delivered', async () => {
  const m = memorySink();
  let release;
  const sink = {
    write(b) {
      m.write(b);
      return new Promise((r) => { release = r; });
    },
  };
  const log = new CircularLog({ capacity: 10, flushIntervalMs: Infinity, sink });
  log.error('start', { i: 0 });
  for (let i = 1; i <= 19; i++) log.info('during', { i });  // 10 in the ring, then set aside
  log.error('urgent meanwhile', { i: 20 });                  // the 10th set aside: none lost
  assert.is(m.writes.length, 1, 'no second write while the first is in flight');
  release();
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(ids(m.records), range(0, 21));
  assert.is(m.writes[1].reason, 'error');
  release();
  await log.close();
  assert.is(log.stats.lost, 0);
});

Reentry('past capacity set-aside records, losses are counted and reported by a WARN record', async () => {
  const m = memorySink();
  let release;
  const sink = { write(b) { m.write(b); return new Promise((r) => { release = r; }); } };
  const log = new CircularLog({ capacity: 5, flushIntervalMs: Infinity, sink });
  log.error('start', { i: 0 });
  for (let i = 1; i <= 13; i++) log.info('during', { i });  // 5 ring + 5 aside + 3 lost
  release();
  const closing = log.close();
  await new Promise((r) => setTimeout(r, 0));
  release();
  await closing;
  assert.is(log.stats.lost, 3);
  const warn = m.records.find((r) => r.level === 'WARN');
  assert.is(warn.lost, 3);
  assert.is(m.writes[1].lost, 3);
  assert.equal(ids(m.records.filter((r) => r.i !== undefined)), [0, 1, 2, 3, 4, 5, 9, 10, 11, 12, 13]);
});

Reentry('a failing sink keeps its records for the next write; flush() and close() reject with IO', async () => {
  const m = memorySink();
  let fail = true;
  const sink = { write(b) { if (fail) throw new Error('disk full'); m.write(b); } };
  const log = new CircularLog({ capacity: 10, flushIntervalMs: Infinity, sink });
  log.info('a', { i: 0 });
  log.error('b', { i: 1 });               // the write throws: error() itself does not
  try { await log.flush(); assert.unreachable(); } catch (e) {
    assert.is(e.code, 'IO');
    assert.match(e.message, /disk full/);
  }
  fail = false;
  await log.flush();
  assert.equal(ids(m.records), [0, 1]);
  assert.is(log.stats.sinkErrors, 2);
  fail = true;
  log.info('c');
  try { await log.close(); assert.unreachable(); } catch (e) { assert.is(e.code, 'IO'); }
});

const Close = suite('CircularLog close');

Close('writes pending records, closes the sink once, is idempotent, and drops later records with a count', async () => {
  const t = fakeTime();
  let closes = 0;
  const m = memorySink();
  const sink = { write: (b) => m.write(b), close() { closes++; } };
  const log = new CircularLog({ capacity: 10, flushIntervalMs: 1000, sink, clock: t.clock, timer: t.timer });
  log.info('a', { i: 0 });
  const p1 = log.close();
  assert.equal(ids(m.records), [0], 'written before close() returns');
  assert.is(t.armed, 0, 'no timer after close');
  const p2 = log.close();
  assert.is(p1, p2);
  await p1;
  log.info('late'); log.error('late error');
  assert.is(closes, 1);
  assert.is(m.records.length, 1);
  assert.is(log.stats.droppedAfterClose, 2);
  assert.ok(log.isClosed);
});

const From = suite('loggerFrom');

From('gives silentLogger without a logger, the CircularLog itself, and a throw-proof wrapper otherwise', () => {
  assert.is(loggerFrom(), silentLogger);
  assert.is(loggerFrom({}), silentLogger);
  const log = new CircularLog({ capacity: 2, flushIntervalMs: Infinity, sink: memorySink() });
  assert.is(loggerFrom({ logger: log }), log);
  const seen = [];
  const mine = { debug() { throw new Error('broken'); }, info: (m, f) => seen.push([m, f]), warn() {}, error() {}, critical() {} };
  const l = loggerFrom({ logger: mine });
  l.debug('x');
  l.info('saved', { step: 1 });
  assert.equal(seen, [['saved', { step: 1 }]]);
  log.close();
});

const Console = suite('consoleSink');

Console('prints each record once through the method of its level', () => {
  const out = [];
  const fake = Object.fromEntries(['debug', 'info', 'warn', 'error'].map((k) => [k, (...a) => out.push([k, ...a])]));
  const log = new CircularLog({ capacity: 4, flushIntervalMs: Infinity, sink: consoleSink(fake), level: 'DEBUG', clock: () => 0 });
  log.debug('d'); log.warn('w', { x: 1 }); log.critical('c');
  log.info('i');
  log.close();
  assert.equal(out, [
    ['debug', '1970-01-01T00:00:00.000Z DEBUG d'],
    ['warn', '1970-01-01T00:00:00.000Z WARN w', { x: 1 }],
    ['error', '1970-01-01T00:00:00.000Z CRITICAL c'],
    ['info', '1970-01-01T00:00:00.000Z INFO i'],
  ]);
});

// ---------------------------------------------------------------- file sink (Node, Deno, Bun)
if (hasFs) {
  const File = suite(`fileSink (${runtime})`);
  const distUrl = new URL('../dist/index.js', import.meta.url).href;

  const fsP = () => import('node:fs');
  const lines = (text) => text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));

  /** Runs a script in a child of this same runtime; resolves with { code, signal, out }. */
  async function child(dir, source, { onLine } = {}) {
    const fs = await fsP();
    const { spawn } = await import('node:child_process');
    const file = `${dir}/child-${Math.random().toString(36).slice(2)}.mjs`;
    fs.writeFileSync(file, source);
    const [cmd, args] = runtime === 'deno' ? [Deno.execPath(), ['run', '-A', '--quiet', file]] : [process.execPath, [file]];
    return new Promise((resolve, reject) => {
      const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '', err = '';
      p.stdout.on('data', (d) => {
        out += d;
        if (onLine) for (const l of String(d).split('\n')) if (l) onLine(l, p);
      });
      p.stderr.on('data', (d) => { err += d; });
      p.on('error', reject);
      p.on('close', (code, signal) => resolve({ code, signal, out, err }));
    });
  }

  File('the file is the ring as JSONL, oldest first, and an ERROR is in it before error() returns', async () => {
    const fs = await fsP();
    const dir = await tempDir();
    const path = `${dir}/logs/train.jsonl`;
    const log = new CircularLog({ capacity: 3, flushIntervalMs: 3_600_000, sink: await fileSink(path) });
    for (let i = 0; i < 5; i++) log.info('step', { i });   // one overflow write of 0..2
    assert.equal(lines(fs.readFileSync(path, 'utf8')).map((r) => r.i), [0, 1, 2]);
    log.error('diverged', { i: 5, loss: 'NaN' });
    const now = lines(fs.readFileSync(path, 'utf8'));
    assert.equal(now.map((r) => r.i), [3, 4, 5]);
    assert.is(now[2].level, 'ERROR');
    assert.equal(fs.readdirSync(`${dir}/logs`), ['train.jsonl'], 'no temporary file left behind');
    await log.close();
    fs.rmSync(dir, { recursive: true });
  });

  File('an ERROR survives SIGKILL right after error() returns', async () => {
    const fs = await fsP();
    const dir = await tempDir();
    const path = `${dir}/k.jsonl`;
    const r = await child(dir, `
      import { CircularLog, fileSink } from ${JSON.stringify(distUrl)};
      import process from 'node:process';
      const log = new CircularLog({ capacity: 100, flushIntervalMs: 3600000, sink: await fileSink(${JSON.stringify(path)}) });
      for (let i = 0; i < 10; i++) log.info('step', { i });
      log.error('boom', { i: 10 });
      log.info('pending, never written', { i: 11 });
      process.stdout.write('ready\\n');
      setInterval(() => {}, 1000);
    `, { onLine: (l, p) => { if (l === 'ready') p.kill('SIGKILL'); } });
    assert.is(r.signal, 'SIGKILL', r.err);
    const recs = lines(fs.readFileSync(path, 'utf8'));
    assert.equal(recs.map((x) => x.i), range(0, 11));
    assert.is(recs[10].msg, 'boom');
    fs.rmSync(dir, { recursive: true });
  });

  File('pending records are written when the process exits without close() (end of script, and exit())', async () => {
    const fs = await fsP();
    const dir = await tempDir();
    for (const ending of ['', "(await import('node:process')).default.exit(3);"]) {
      const path = `${dir}/e${ending ? 'x' : 'n'}.jsonl`;
      const r = await child(dir, `
        import { CircularLog, fileSink } from ${JSON.stringify(distUrl)};
        const log = new CircularLog({ capacity: 100, flushIntervalMs: 3600000, sink: await fileSink(${JSON.stringify(path)}) });
        for (let i = 0; i < 5; i++) log.info('step', { i });
        ${ending}
      `);
      assert.is(r.code, ending ? 3 : 0, r.err);
      assert.equal(lines(fs.readFileSync(path, 'utf8')).map((x) => x.i), range(0, 5), ending || 'end of script');
    }
    fs.rmSync(dir, { recursive: true });
  });

  File('a concurrent reader always finds a complete, parseable, contiguous snapshot', async () => {
    const fs = await fsP();
    const dir = await tempDir();
    const path = `${dir}/c.jsonl`;
    let stop = false, reads = 0, bad = 0;
    const seen = new Set();
    const reader = (async () => {
      while (!stop) {
        let text;
        try { text = await fs.promises.readFile(path, 'utf8'); } catch { await new Promise((r) => setTimeout(r, 1)); continue; }
        reads++;
        try {
          if (!text.endsWith('\n')) throw new Error('no final newline');
          const is = lines(text).map((x) => x.i);
          if (is.length < 1 || is.length > 200 || is.some((x, k) => k > 0 && x !== is[k - 1] + 1)) throw new Error('not contiguous');
          seen.add(is[0]);
        } catch { bad++; }
      }
    })();
    const r = await child(dir, `
      import { CircularLog, fileSink } from ${JSON.stringify(distUrl)};
      const log = new CircularLog({ capacity: 200, flushIntervalMs: 5, sink: await fileSink(${JSON.stringify(path)}, { fsync: 'never' }) });
      const pad = 'x'.repeat(200);
      const end = Date.now() + 1500;
      let i = 0;
      while (Date.now() < end) {
        for (let k = 0; k < 50; k++) log.info('step', { i: i++, pad });
        await new Promise((r) => setTimeout(r, 0));
      }
      await log.close();
    `);
    stop = true;
    await reader;
    assert.is(r.code, 0, r.err);
    assert.is(bad, 0, `${bad} of ${reads} reads were not a complete snapshot`);
    assert.ok(reads >= 20 && seen.size >= 5, `${reads} reads, ${seen.size} distinct snapshots`);
    fs.rmSync(dir, { recursive: true });
  });

  File('a directory that cannot be created is an IO error naming the path', async () => {
    const fs = await fsP();
    const dir = await tempDir();
    fs.writeFileSync(`${dir}/plain-file`, '');
    try { await fileSink(`${dir}/plain-file/sub/x.jsonl`); assert.unreachable(); } catch (e) {
      assert.is(e.code, 'IO');
      assert.match(e.message, /plain-file/);
    }
    fs.rmSync(dir, { recursive: true });
  });

  File('an unknown fsync mode is refused with UNSUPPORTED/INVALID_OPTION', async () => {
    try { await fileSink('/tmp/never-written.jsonl', { fsync: 'sometimes' }); assert.unreachable(); } catch (e) {
      assert.is(e.code, 'UNSUPPORTED');
      assert.is(e.detail, 'INVALID_OPTION');
    }
  });

  File.run();
} else {
  const Browser = suite(`log sinks without a filesystem (${runtime})`);

  Browser('fileSink is refused with UNSUPPORTED, naming the browser alternative', async () => {
    try { await fileSink('x.jsonl'); assert.unreachable(); } catch (e) {
      assert.is(e.code, 'UNSUPPORTED');
      assert.match(e.message, /opfsSink/);
    }
  });

  if (isBrowser) Browser('opfsSink replaces the OPFS file with the ring as JSONL', async () => {
    const name = `logs/t-${Date.now()}.jsonl`;
    const log = new CircularLog({ capacity: 3, flushIntervalMs: Infinity, sink: opfsSink(name) });
    for (let i = 0; i < 5; i++) log.info('step', { i });
    log.error('bad', { i: 5 });
    await log.flush();
    const root = await navigator.storage.getDirectory();
    const read = async () => (await (await (await root.getDirectoryHandle('logs')).getFileHandle(name.slice(5))).getFile()).text();
    assert.equal((await read()).trim().split('\n').map((l) => JSON.parse(l).i), [3, 4, 5]);
    log.info('last', { i: 6 });
    await log.close();
    assert.equal((await read()).trim().split('\n').map((l) => JSON.parse(l).i), [4, 5, 6]);
    await (await root.getDirectoryHandle('logs')).removeEntry(name.slice(5));
  });

  Browser('opfsSink refuses names that are not a file inside the origin', () => {
    for (const bad of ['', 'logs/', '../x.jsonl', '/abs.jsonl']) {
      try { opfsSink(bad); assert.unreachable(bad); } catch (e) {
        assert.instance(e, CheckpointError, bad);
      }
    }
  });

  Browser.run();
}

Timing.run();
Ring.run();
Reentry.run();
Close.run();
From.run();
Console.run();

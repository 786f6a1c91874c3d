// 1,000,000 records into a ring of 10,000, written to a file:
//  - safeckpt CircularLog + fileSink (lazy flush: once per interval, or when the ring is full of
//    unwritten records; each write replaces the file with the ring);
//  - the old CircularBufferFileHandler of the seed ADR, faithfully: a deque(maxlen=N) of formatted
//    lines, and on EVERY emit the whole buffer rewritten to the file (open 'w', write, close). It is
//    O(N) per record, so it is measured on a subset, at steady state (ring already full), and
//    extrapolated linearly to 1,000,000 — the table says so;
//  - pino writing to a file (pino.destination({ dest, sync: false })), once with the same record
//    shape (ISO time, no pid/hostname) and once with pino's defaults.
// Usage: node bench/log.bench.js [records=1000000] [oldSubset=1000]
import { mkdtempSync, rmSync, writeFileSync, statSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import pino from 'pino';
import { CircularLog, fileSink } from '../dist/index.js';

const N = Number(process.argv[2] ?? 1_000_000);
const OLD_SUBSET = Number(process.argv[3] ?? 1_000);
const CAPACITY = 10_000;
const REPEATS = 3;
const dir = mkdtempSync(join(tmpdir(), 'safeckpt-logbench-'));
const gc = globalThis.gc ?? (() => {});
const fields = (i) => ({ step: i, loss: 1 / (i + 1), lr: 0.001 });

async function safeckpt() {
  const path = join(dir, 'safeckpt.jsonl');
  const log = new CircularLog({ capacity: CAPACITY, flushIntervalMs: 1000, sink: await fileSink(path) });
  const t0 = performance.now();
  for (let i = 0; i < N; i++) log.info('step', fields(i));
  await log.close();
  const ms = performance.now() - t0;
  const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
  if (lines.length !== Math.min(N, CAPACITY) || JSON.parse(lines.at(-1)).step !== N - 1) throw new Error('safeckpt: wrong file content');
  return { ms, writes: log.stats.writes, bytes: statSync(path).size };
}

// The seed's handler: logging.Handler subclass with a deque(maxlen) and a full rewrite per emit.
class CircularBufferFileHandler {
  constructor(filename, maxlen) {
    this.filename = filename;
    this.maxlen = maxlen;
    this.buffer = new Array(maxlen);   // deque(maxlen): O(1) append, oldest falls off
    this.start = 0;
    this.size = 0;
  }
  emit(level, msg, fields) {
    const line = JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields });
    const end = (this.start + this.size) % this.maxlen;
    this.buffer[end] = line;
    if (this.size < this.maxlen) this.size++;
    else this.start = (this.start + 1) % this.maxlen;
    const ordered = [];
    for (let k = 0; k < this.size; k++) ordered.push(this.buffer[(this.start + k) % this.maxlen]);
    writeFileSync(this.filename, ordered.join('\n') + '\n');   // with open(path, 'w') as f: f.write(...)
  }
}

function oldHandler() {
  const h = new CircularBufferFileHandler(join(dir, 'old.jsonl'), CAPACITY);
  // Steady state: the ring is full before timing starts (as it is for 990,000 of the 1,000,000 records).
  for (let i = 0; i < CAPACITY; i++) {
    const line = JSON.stringify({ time: new Date().toISOString(), level: 'INFO', msg: 'step', ...fields(i) });
    h.buffer[i] = line;
  }
  h.size = CAPACITY;
  const t0 = performance.now();
  for (let i = 0; i < OLD_SUBSET; i++) h.emit('INFO', 'step', fields(i));
  const ms = performance.now() - t0;
  return { measuredMs: ms, ms: (ms * N) / OLD_SUBSET };
}

async function pinoRun(sameShape) {
  const path = join(dir, sameShape ? 'pino-iso.jsonl' : 'pino.jsonl');
  const dest = pino.destination({ dest: path, sync: false });
  const opts = sameShape ? { base: null, timestamp: pino.stdTimeFunctions.isoTime } : {};
  const logger = pino(opts, dest);
  await new Promise((r) => dest.once('ready', r));
  const t0 = performance.now();
  for (let i = 0; i < N; i++) logger.info(fields(i), 'step');
  await new Promise((r) => { dest.once('close', r); dest.end(); });
  const ms = performance.now() - t0;
  return { ms, bytes: statSync(path).size };
}

const median = (xs) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];
async function measure(fn) {
  const runs = [];
  for (let r = 0; r < REPEATS; r++) { gc(); runs.push(await fn()); }
  const ms = median(runs.map((x) => x.ms));
  return { ...runs.find((x) => x.ms === ms), runs: runs.map((x) => Math.round(x.ms)) };
}

const ours = await measure(safeckpt);
const pinoSame = await measure(() => pinoRun(true));
const pinoDefault = await measure(() => pinoRun(false));
gc();
const old = oldHandler();
rmSync(dir, { recursive: true, force: true });

const fmt = (ms) => (ms >= 10_000 ? `${(ms / 1000).toFixed(0)} s` : `${Math.round(ms)} ms`);
const rate = (ms) => `${((N / ms) * 1000 / 1e6).toFixed(2)} M/s`;
console.log(`${N.toLocaleString('en')} records (\`info('step', { step, loss, lr })\`) into a ring of ${CAPACITY.toLocaleString('en')}, ` +
  `file on ${tmpdir()}; median of ${REPEATS} runs, end-to-end including the final write/close.\n`);
console.log('| logger | time | records/s | safeckpt is |');
console.log('|---|---:|---:|---:|');
console.log(`| **safeckpt CircularLog + fileSink** (flushIntervalMs 1000; ${ours.writes} file writes) | ${fmt(ours.ms)} | ${rate(ours.ms)} | — |`);
console.log(`| pino → file, same record shape (ISO time, no pid/hostname) | ${fmt(pinoSame.ms)} | ${rate(pinoSame.ms)} | ${(pinoSame.ms / ours.ms).toFixed(2)}× faster |`);
console.log(`| pino → file, pino defaults (epoch time, pid, hostname) | ${fmt(pinoDefault.ms)} | ${rate(pinoDefault.ms)} | ${(pinoDefault.ms / ours.ms).toFixed(2)}× faster |`);
console.log(`| old CircularBufferFileHandler (rewrite per record) — **extrapolated** from ${OLD_SUBSET.toLocaleString('en')} records at steady state (${fmt(old.measuredMs)}) | ~${fmt(old.ms)} | ${rate(old.ms)} | ${(old.ms / ours.ms).toFixed(0)}× faster |`);
console.log(`\nruns (ms): safeckpt ${ours.runs.join(', ')}; pino same shape ${pinoSame.runs.join(', ')}; pino defaults ${pinoDefault.runs.join(', ')}.`);
console.log(`Targets: ≥ 100× the old handler — ${old.ms / ours.ms >= 100 ? 'met' : 'NOT met'}; within 1.5× of pino (same shape) — ` +
  `${ours.ms <= 1.5 * pinoSame.ms ? 'met' : 'NOT met'}.`);

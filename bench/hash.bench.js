// SHA-256 and HMAC-SHA256 throughput on 256 MiB, streamed in 1 MiB chunks and
// one-shot where the API has one: safeckpt's WASM core, safeckpt on the engine
// its runtime rule picks (ready()), hash-wasm, node:crypto and WebCrypto, in one run: the measurements
// behind the fixed rule of src/core/hash-engines.ts.
// The same file runs in Node, Deno and Chromium (no static node:* imports):
//   node bench/hash.bench.js [MiB=256]               Node (what `npm run bench hash` runs)
//   node bench/hash.bench.js --deno [MiB]            the same file under Deno
//   node bench/hash.bench.js --chromium [MiB]        bundled into a page of headless Chromium
//   node bench/hash.bench.js --all [MiB]             all three, one after another
import {
  coreEngine, createHmacSha256, createSha256, sha256, sha256Async, hmacSha256Async,
  setHashEngine, ready, toHex,
} from '../dist/internal.js';
import { createSHA256, createHMAC } from 'hash-wasm';

const runtime = globalThis.Deno ? 'deno' : typeof process !== 'undefined' && process.versions?.node ? 'node' : 'chromium';
const args = runtime === 'node' ? process.argv.slice(2) : runtime === 'deno' ? Deno.args : (globalThis.BENCH_ARGS ?? []);
const drivers = ['--deno', '--chromium', '--all'].filter((f) => args.includes(f));

if (runtime === 'node' && drivers.length > 0) {
  const { drive } = await import('./hash.bench.driver.js');
  await drive(drivers[0], args.filter((a) => !a.startsWith('--')));
} else {
  await bench(Number(args.find((a) => /^\d+$/.test(a)) ?? 256));
}

async function bench(mib) {
  const SIZE = mib * 2 ** 20;
  const CHUNK = 2 ** 20;
  const REPEATS = 3;
  const data = new Uint8Array(SIZE);
  for (let off = 0; off < SIZE; off += 65536) crypto.getRandomValues(data.subarray(off, off + 65536));
  const key = crypto.getRandomValues(new Uint8Array(32));
  const nodeCrypto = runtime === 'chromium' ? null : await import(/* @vite-ignore */ ['node', 'crypto'].join(':'));
  const subtle = globalThis.crypto?.subtle;
  const hmacKey = subtle && (await subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']));
  const hw = await createSHA256();
  const hwMac = await createHMAC(createSHA256(), key);
  const chunked = (update) => { for (let off = 0; off < SIZE; off += CHUNK) update(data.subarray(off, off + CHUNK)); };
  const info = await ready();

  // Each case: operation, implementation, mode, the safeckpt engine to set
  // before timing ('core', 'auto' = the runtime's rule, or none), and a run
  // that returns the hex digest, checked against the platform's.
  const cases = [
    ['SHA-256', 'safeckpt core', 'stream', 'core', () => { const h = coreEngine.createSha256(); chunked((c) => h.update(c)); return toHex(h.digest()); }],
    ['SHA-256', 'safeckpt core', 'one-shot', 'core', () => toHex(sha256(data))],
    ['SHA-256', `safeckpt auto (${info.engine})`, 'stream', 'auto', () => { const h = createSha256(); chunked((c) => h.update(c)); return toHex(h.digest()); }],
    ['SHA-256', `safeckpt sha256Async (${info.webCrypto ? 'WebCrypto' : info.engine})`, 'one-shot', 'auto', async () => toHex(await sha256Async(data))],
    ['SHA-256', 'hash-wasm', 'stream', null, () => { hw.init(); chunked((c) => hw.update(c)); return hw.digest('hex'); }],
    ['SHA-256', 'hash-wasm', 'one-shot', null, () => hw.init().update(data).digest('hex')],
    nodeCrypto && ['SHA-256', 'node:crypto', 'stream', null, () => { const h = nodeCrypto.createHash('sha256'); chunked((c) => h.update(c)); return h.digest('hex'); }],
    nodeCrypto && ['SHA-256', 'node:crypto', 'one-shot', null, () => nodeCrypto.createHash('sha256').update(data).digest('hex')],
    subtle && ['SHA-256', 'WebCrypto crypto.subtle', 'one-shot', null, async () => toHex(new Uint8Array(await subtle.digest('SHA-256', data)))],
    ['HMAC-SHA256', 'safeckpt core', 'stream', 'core', () => { const h = createHmacSha256(key, coreEngine); chunked((c) => h.update(c)); return toHex(h.digest()); }],
    ['HMAC-SHA256', `safeckpt auto (${info.engine})`, 'stream', 'auto', () => { const h = createHmacSha256(key); chunked((c) => h.update(c)); return toHex(h.digest()); }],
    ['HMAC-SHA256', `safeckpt hmacSha256Async (${info.webCrypto ? 'WebCrypto' : info.engine})`, 'one-shot', 'auto', async () => toHex(await hmacSha256Async(key, data))],
    ['HMAC-SHA256', 'hash-wasm', 'stream', null, () => { hwMac.init(); chunked((c) => hwMac.update(c)); return hwMac.digest('hex'); }],
    nodeCrypto && ['HMAC-SHA256', 'node:crypto', 'stream', null, () => { const h = nodeCrypto.createHmac('sha256', key); chunked((c) => h.update(c)); return h.digest('hex'); }],
    hmacKey && ['HMAC-SHA256', 'WebCrypto crypto.subtle', 'one-shot', null, async () => toHex(new Uint8Array(await subtle.sign('HMAC', hmacKey, data)))],
  ].filter(Boolean);

  const want = {
    'SHA-256': toHex(new Uint8Array(await subtle.digest('SHA-256', data))),
    'HMAC-SHA256': toHex(new Uint8Array(await subtle.sign('HMAC', hmacKey, data))),
  };
  // Round-robin over the cases, so that a burst of load on this shared
  // machine hits every case alike; the best run is the least disturbed one.
  const rows = cases.map(([op, who, mode]) => ({ op, who, mode, ms: [] }));
  for (let r = 0; r < REPEATS; r++) {
    for (const [i, [op, who, mode, engine, run]] of cases.entries()) {
      await setHashEngine(engine === 'core' ? coreEngine : null);
      const t0 = performance.now();
      const got = await run();
      rows[i].ms.push(performance.now() - t0);
      if (got !== want[op]) throw new Error(`${op} ${who} ${mode}: digest ${got}, expected ${want[op]}`);
    }
  }
  for (const row of rows) {
    row.ms.sort((a, b) => a - b);
    row.best = SIZE / 1e3 / row.ms[0];
    row.median = SIZE / 1e3 / row.ms[REPEATS >> 1];
  }
  await setHashEngine(null);

  const version = runtime === 'node' ? `Node ${process.version}` : runtime === 'deno' ? `Deno ${Deno.version.deno} (V8 ${Deno.version.v8})`
    : `Chromium ${navigator.userAgent.match(/Chrome\/([\d.]+)/)?.[1] ?? '?'}`;
  console.log(`### ${runtime}: ${version}, ${mib} MiB, ${REPEATS} runs each (MB/s = 10^6 bytes/s)\n`);
  console.log(`this runtime's rule runs \`${info.engine}\`${info.webCrypto ? ' (+ WebCrypto for async one-shot)' : ''} (src/core/hash-engines.ts)\n`);
  console.log('| operation | implementation | mode | MB/s best | MB/s median | × hash-wasm (same op, mode; best) | × safeckpt core (best) |');
  console.log('|---|---|---|---:|---:|---:|---:|');
  for (const r of rows) {
    const hwRow = rows.find((x) => x.op === r.op && x.who === 'hash-wasm' && x.mode === r.mode) ?? rows.find((x) => x.op === r.op && x.who === 'hash-wasm');
    const coreRow = rows.find((x) => x.op === r.op && x.who === 'safeckpt core' && x.mode === r.mode) ?? rows.find((x) => x.op === r.op && x.who === 'safeckpt core');
    const bold = r.who === 'safeckpt core' ? '**' : '';
    console.log(`| ${r.op} | ${bold}${r.who}${bold} | ${r.mode} | ${r.best.toFixed(0)} | ${r.median.toFixed(0)} | ` +
      `${(r.best / hwRow.best).toFixed(2)}× | ${(r.best / coreRow.best).toFixed(2)}× |`);
  }
  console.log(`\nRuns (ms): ${rows.map((r) => `${r.op} ${r.who} ${r.mode}: ${r.ms.map((x) => x.toFixed(0)).join('/')}`).join('; ')}`);
}

// Verified loading in the browser at the speed of the wire (issue #17): a
// page built by vite from the packed package (as a user's app is), run in
// headless Chromium, loads a 256 MiB safetensors file of 16 F32 tensors that
// nginx serves on 127.0.0.1 — against the ten lines a user writes (fetch +
// arrayBuffer + crypto.subtle.digest of each tensor, compared with the
// sidecar). The ops (bench/wire/ops.js) run interleaved, round by round; the
// first round checks every result is the file's exact bytes, verified.
//
//   npm run bench wire-browser            (SAFECKPT_BENCH_ROUNDS=5, SAFECKPT_BENCH_MIB=256)
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchDir, makeModel, startNginx, load, printTable, MIB } from './_wire.js';
import { scratchProject, run, repo } from '../test/_scratch-project.js';

const ROUNDS = Number(process.env.SAFECKPT_BENCH_ROUNDS || 5);
const BYTES = Number(process.env.SAFECKPT_BENCH_MIB || 256) * MIB;
const here = fileURLToPath(new URL('.', import.meta.url));

const { dir, onCleanup } = benchDir('wire-browser');
const www = join(dir, 'www');
mkdirSync(www);
const model = await makeModel(www, { bytes: BYTES });

// The page: the packed package installed into a blank project, bundled by vite with default options.
const project = scratchProject();
onCleanup(project.cleanup);
mkdirSync(join(project.dir, 'src'));
copyFileSync(join(here, 'wire', 'page.js'), join(project.dir, 'src', 'index.js'));
copyFileSync(join(here, 'wire', 'ops.js'), join(project.dir, 'src', 'ops.js'));
writeFileSync(join(project.dir, 'index.html'), '<!doctype html><meta charset="utf-8"><title>wire bench</title><script type="module" src="/src/index.js"></script>');
run(process.execPath, [join(repo, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--base', './', '--outDir', join(www, 'app'), '--emptyOutDir', '--logLevel', 'error'], { cwd: project.dir });

const origin = await startNginx(www, dir, onCleanup);
const head = readFileSync(model.file).subarray(0, 8);
const headerLength = Number(new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true));
const m = {
  url: `${origin}/model.safetensors`, size: model.size, dataStart: 8 + headerLength, names: model.names, sha256: model.sidecar.sha256,
  offsets: Object.fromEntries(model.names.map((n) => [n, model.sidecar.tensors[n].data_offsets])),
  digests: Object.fromEntries(model.names.map((n) => [n, model.sidecar.tensors[n].sha256])),
};

const { chromium } = await import('playwright-core');
const profile = join(dir, 'profile');
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--js-flags=--expose-gc'],
});
onCleanup(() => void context.close().catch(() => {}));
const page = context.pages()[0] ?? (await context.newPage());
const errors = [];
page.on('pageerror', (e) => errors.push(String(e)));
await page.goto(`${origin}/app/`);
await page.waitForFunction(() => window.__benchReady === true, null, { timeout: 60_000 });
const cores = await page.evaluate((meta) => window.__bench.init(meta), m);
const version = context.browser()?.version() ?? (await page.evaluate(() => navigator.userAgent));

const OPS = [
  ['fetch', '`fetch` + `arrayBuffer` only (the wire)'],
  ['peer', '**peer**: `fetch` + `arrayBuffer` + `crypto.subtle.digest` of each tensor, vs the sidecar'],
  ['peer-file', '`fetch` + one WebCrypto digest of the whole file'],
  ['verify', '`verify(url)` (default)'],
  ['verify-w0', '`verify(url, { workers: 0 })`'],
  ['load', '`readSafetensors(url)` + `load()` of every tensor, verified'],
  ['range-peer', '**range peer**: `fetch(Range)` of one 16 MiB tensor + WebCrypto digest'],
  ['range', 'one tensor of an open file (`file.tensor(name)`), range-fetched and verified'],
];
const only = process.env.SAFECKPT_BENCH_OPS?.split(',');
const order = OPS.map(([op]) => op).filter((op) => !only || only.includes(op) || op === 'peer' || op === 'range-peer');
const peerOf = (op) => (op.startsWith('range') ? 'range-peer' : 'peer');
const times = Object.fromEntries(order.map((op) => [op, []]));
const loads = [load()];
for (let r = 0; r < ROUNDS; r++) {
  for (const op of order) {
    await page.evaluate(() => { globalThis.gc?.(); });
    times[op].push(await page.evaluate(([o, c]) => window.__bench.run(o, c), [op, r === 0]));
  }
  loads.push(load());
}
if (errors.length) throw new Error(`page errors: ${errors.join('\n')}`);

console.log(`Chromium ${version} headless (${cores} cores), page built by vite from the packed package; ` +
  `${(model.size / MIB).toFixed(0)} MiB, ${model.names.length} F32 tensors, nginx on 127.0.0.1 (no-store); ` +
  `median of ${ROUNDS} rounds, ops interleaved; every result checked byte for byte in round 1.`);
console.log(`load average (1/5/15 min) before and after each round: ${loads.join(' | ')}\n`);
printTable(OPS.filter(([op]) => order.includes(op)), times, peerOf, {
  verify: '≤ 1.0×', load: '≤ 1.0×', range: '≤ 1.1×',
});
await Promise.race([context.close(), new Promise((ok) => setTimeout(ok, 10_000).unref())]);
process.exit(0);

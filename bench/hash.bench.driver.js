// Runs bench/hash.bench.js under Deno or in headless Chromium (from Node) and
// prints what it prints. Chromium gets the file bundled by esbuild (node:*
// left out, as the bench never loads them there), served from 127.0.0.1 so the
// page is a secure context with WebCrypto.
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export async function drive(flag, rest) {
  if (flag === '--deno' || flag === '--all') runDeno(rest);
  if (flag === '--chromium' || flag === '--all') await runChromium(rest);
  if (flag === '--all') spawnSync(process.execPath, [join(root, 'bench', 'hash.bench.js'), ...rest], { stdio: 'inherit' });
}

function runDeno(rest) {
  const deno = join(root, 'node_modules', '.bin', 'deno');
  const r = spawnSync(deno, ['run', '-A', '--quiet', join(root, 'bench', 'hash.bench.js'), ...rest], { stdio: 'inherit', cwd: root });
  if (r.status !== 0) throw new Error(`deno exited with ${r.status}`);
}

async function runChromium(rest) {
  const esbuild = (await import('esbuild')).default;
  const { chromium } = await import('playwright-core');
  const { outputFiles } = esbuild.buildSync({
    entryPoints: [join(root, 'bench', 'hash.bench.js')], bundle: true, format: 'esm', platform: 'browser',
    target: 'es2022', external: ['node:*', './hash.bench.driver.js'], write: false, logLevel: 'warning',
  });
  const bundle = outputFiles[0].text;
  const page = `<!doctype html><script>globalThis.BENCH_ARGS = ${JSON.stringify(rest)};</script>` +
    `<script type="module" src="/bench.js"></script>`;
  const server = createServer((req, res) => {
    const js = req.url === '/bench.js';
    res.writeHead(200, { 'content-type': js ? 'text/javascript' : 'text/html' });
    res.end(js ? bundle : page);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const profile = mkdtempSync(join(tmpdir(), 'safeckpt-bench-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  try {
    const tab = context.pages()[0] ?? (await context.newPage());
    let failed = null;
    const finished = new Promise((resolve) => {
      tab.on('console', (m) => {
        const text = m.text();
        console.log(text);
        if (text.includes('Runs (ms):')) resolve();
      });
      tab.on('pageerror', (e) => { failed = e; resolve(); });
    });
    await tab.goto(`http://127.0.0.1:${server.address().port}/`);
    await finished;
    if (failed) throw failed;
  } finally {
    // Closing can stall on a loaded machine; the run's output is complete by now.
    await Promise.race([context.close(), new Promise((resolve) => setTimeout(resolve, 10000).unref())]);
    server.closeAllConnections();
    server.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

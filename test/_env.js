// What a test needs to know about where it runs: the runtime, test servers,
// fixtures and scratch files. The only runtime-specific code tests share.

/** @type {'node' | 'deno' | 'bun' | 'chromium' | 'workerd'} */
export const runtime = globalThis.navigator?.userAgent === 'Cloudflare-Workers' ? 'workerd'
  : globalThis.Deno ? 'deno' : globalThis.Bun ? 'bun'
  : typeof process !== 'undefined' && process.versions?.node ? 'node' : 'chromium';
export const isBrowser = runtime === 'chromium';
/** Node, Deno and Bun: a filesystem, node: modules and child processes. */
export const hasFs = runtime === 'node' || runtime === 'deno' || runtime === 'bun';
/** Chromium and workerd reach the repository, the served folder and nginx's log through test/run.js's page server. */
const viaPage = !hasFs;
/** The page server's origin: the page's own in Chromium, passed in for workerd. */
const page = () => (runtime === 'workerd' ? testEnv('SAFECKPT_TEST_PAGE') : '');

/** A setting passed in by test/run.js (environment in Node/Deno/Bun, a global in the browser and workerd). */
export function testEnv(name) {
  if (runtime === 'deno') return Deno.env.get(name);
  if (runtime === 'node' || runtime === 'bun') return process.env[name];
  return globalThis.SAFECKPT_TEST_ENV?.[name];
}

/** Bytes of a file under the repository root, e.g. 'test/fixtures/reference/safetensors/valid/x.safetensors'. */
export async function readRepoFile(rel) {
  if (viaPage) {
    const r = await fetch(page() + '/' + rel);
    if (!r.ok) throw new Error(`fixture ${rel}: HTTP ${r.status}`);
    return new Uint8Array(await r.arrayBuffer());
  }
  const fs = await import('node:fs/promises');
  return new Uint8Array(await fs.readFile(new URL('../' + rel, import.meta.url)));
}

export async function readRepoText(rel) {
  return new TextDecoder().decode(await readRepoFile(rel));
}

export async function readRepoJson(rel) {
  return JSON.parse(await readRepoText(rel));
}

/** Names of files in a repository folder (browser: from the served index made by test/run.js). */
export async function listRepoDir(rel) {
  if (viaPage) {
    const r = await fetch(page() + '/__list?dir=' + encodeURIComponent(rel));
    if (!r.ok) throw new Error(`list ${rel}: HTTP ${r.status}`);
    return r.json();
  }
  const fs = await import('node:fs/promises');
  return (await fs.readdir(new URL('../' + rel, import.meta.url))).sort();
}

/** A fresh empty directory for this test (Node, Deno only). */
export async function tempDir(prefix = 'safeckpt-test-') {
  const fs = await import('node:fs/promises');
  const os = await import('node:os');
  const path = await import('node:path');
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  madeTempDirs.push(dir);
  return dir;
}

/** Folders tempDir() made in this process; removeTempDirs() deletes them once every suite has run. */
const madeTempDirs = [];

/**
 * Deletes the folders tempDir() made (the test entry calls it after the last suite), so that what test/run.js
 * still finds in the run's TMPDIR afterwards is what something else left there — the library, a child process.
 */
export async function removeTempDirs() {
  const fs = await import('node:fs/promises');
  await Promise.all(madeTempDirs.splice(0).map((d) => fs.rm(d, { recursive: true, force: true }).catch(() => {})));
}

/** SHA-256 from the platform (node:crypto in Node/Deno/Bun, WebCrypto in the browser and workerd), as hex. */
export async function platformSha256Hex(bytes) {
  if (hasFs) {
    const { createHash } = await import('node:crypto');
    return createHash('sha256').update(bytes).digest('hex');
  }
  return hex(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)));
}

export async function platformHmacHex(key, bytes) {
  if (hasFs) {
    const { createHmac } = await import('node:crypto');
    return createHmac('sha256', key).update(bytes).digest('hex');
  }
  // WebCrypto refuses an empty key; RFC 2104 pads keys with zeros to the block size, so 64 zero bytes are the same key.
  const raw = key.length > 0 ? key : new Uint8Array(64);
  const k = await crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return hex(new Uint8Array(await crypto.subtle.sign('HMAC', k, bytes)));
}

export function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** A seeded PRNG (mulberry32) so property tests are reproducible from a printed seed. */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomBytes(n, next) {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (next() * 256) | 0;
  return out;
}

/**
 * Puts a generated file at `rel` under the folder both test servers serve, so
 * it is at `${testEnv('SAFECKPT_TEST_HTTP')}/${rel}` (browser: through the page server).
 */
export async function serveFile(rel, bytes) {
  if (viaPage) {
    const r = await fetch(page() + '/__served/' + rel.split('/').map(encodeURIComponent).join('/'), { method: 'PUT', body: bytes });
    if (!r.ok) throw new Error(`serveFile ${rel}: HTTP ${r.status}`);
    return;
  }
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  const file = path.join(testEnv('SAFECKPT_TEST_HTTP_ROOT'), rel);
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o755 });
  await fs.writeFile(file, bytes, { mode: 0o644 });
}

/** nginx's access log so far (the browser reads it through the page server). */
export async function nginxLog() {
  if (viaPage) {
    const r = await fetch(page() + '/__nginx-log');
    if (!r.ok) throw new Error(`nginx log: HTTP ${r.status}`);
    return r.text();
  }
  const fs = await import('node:fs/promises');
  return fs.readFile(testEnv('SAFECKPT_TEST_NGINX_LOG'), 'utf8');
}

/**
 * The requests in a slice of nginx's log (format `ranges` of test/run.js):
 * [{ method, path, status, bytes, range: [start, endExclusive] | null }].
 */
export function nginxRequests(text) {
  const out = [];
  for (const line of text.split('\n')) {
    const m = /"(\w+) (\S+) [^"]*" (\d{3}) (\d+) .*"([^"]*)"$/.exec(line);
    if (!m) continue;
    const r = /^bytes=(\d+)-(\d+)$/.exec(m[5]);
    out.push({ method: m[1], path: m[2], status: Number(m[3]), bytes: Number(m[4]), range: r ? [Number(r[1]), Number(r[2]) + 1] : null });
  }
  return out;
}

/**
 * Options for an S3Store on the Ceph RGW that test/run.js started (bucket, endpoint, credentials), with a
 * fresh prefix per call. Throws — failing the test — when RGW is not running: S3 tests are never skipped.
 */
export function s3TestOptions(prefix = `t-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`) {
  const endpoint = testEnv('SAFECKPT_TEST_S3_ENDPOINT');
  if (!endpoint) {
    throw new Error(testEnv('SAFECKPT_TEST_S3_ERROR') || 'no S3 engine: SAFECKPT_TEST_S3_ENDPOINT is not set (run the tests through test/run.js, which starts Ceph RGW)');
  }
  return {
    bucket: testEnv('SAFECKPT_TEST_S3_BUCKET'), prefix, endpoint, region: testEnv('SAFECKPT_TEST_S3_REGION'),
    credentials: { accessKeyId: testEnv('SAFECKPT_TEST_S3_ACCESS_KEY_ID'), secretAccessKey: testEnv('SAFECKPT_TEST_S3_SECRET_ACCESS_KEY') },
  };
}

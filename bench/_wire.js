// What the wire benches share (Node side): the model they load — a safetensors
// file of 16 F32 tensors (256 MiB by default) with its sidecar, made at bench
// time — and Debian's nginx on a free 127.0.0.1 port serving it, as a static
// host would: real Range support, sendfile, and `Cache-Control: no-store` so
// that every round crosses the wire (a browser would otherwise revalidate
// into its disk cache). Everything lives in one temp folder, removed on exit.
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

export const MIB = 1 << 20;

/** A temp folder removed at exit (also on SIGINT/SIGTERM), and cleanups run before that. */
export function benchDir(name) {
  const dir = mkdtempSync(join(tmpdir(), `safeckpt-${name}-`));
  const cleanups = [];
  let done = false;
  const cleanup = () => {
    if (done) return;
    done = true;
    for (const f of cleanups.reverse()) try { f(); } catch {}
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', cleanup);
  for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => { cleanup(); process.exit(130); });
  return { dir, onCleanup: (f) => cleanups.push(f), cleanup };
}

/**
 * Writes `model.safetensors` (+ sidecar) into `dir`: `tensors` F32 tensors of
 * `bytes / tensors` each, named layers.NN.weight, pseudo-random content.
 * Returns { file, size, names, sidecar }.
 */
export async function makeModel(dir, { bytes = 256 * MIB, tensors = 16, name = 'model.safetensors' } = {}) {
  const { writeSafetensors } = await import('../dist/index.js');
  const per = bytes / tensors;
  const t = {};
  let seed = 7;
  for (let i = 0; i < tensors; i++) {
    const data = new Uint8Array(per);
    const w = new Uint32Array(data.buffer);
    for (let j = 0; j < w.length; j++) w[j] = seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    t[`layers.${String(i).padStart(2, '0')}.weight`] = { dtype: 'F32', shape: [per / 4], data };
  }
  const file = join(dir, name);
  await writeSafetensors(file, t);
  const sidecar = JSON.parse(readFileSync(file + '.meta.json', 'utf8'));
  return { file, size: sidecar.size, names: Object.keys(t), sidecar };
}

/** nginx serving `root` on 127.0.0.1 (stopped at cleanup). Returns its origin, e.g. http://127.0.0.1:PORT. */
export async function startNginx(root, work, onCleanup) {
  const nginx = ['/usr/sbin/nginx', '/usr/bin/nginx'].find(existsSync);
  if (!nginx) throw new Error('nginx is not installed (apt-get install -y nginx-light): the wire benches serve the model with it');
  const probe = createServer();
  await new Promise((ok) => probe.listen(0, '127.0.0.1', ok));
  const port = probe.address().port;
  await new Promise((ok) => probe.close(ok));
  const prefix = join(work, 'nginx');
  mkdirSync(join(prefix, 'logs'), { recursive: true });
  writeFileSync(join(prefix, 'nginx.conf'), `daemon on;
pid ${prefix}/nginx.pid;
error_log ${prefix}/logs/error.log;
worker_processes 1;
events { worker_connections 256; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  types { text/html html; text/javascript js; application/json json; application/wasm wasm; application/octet-stream safetensors; }
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:${port};
    root ${root};
    location / {
      add_header Cache-Control no-store always;
      add_header Access-Control-Allow-Origin * always;
      add_header Access-Control-Allow-Headers Range always;
      add_header Access-Control-Expose-Headers "Content-Range, Content-Length, Accept-Ranges" always;
      if ($request_method = OPTIONS) { return 204; }
    }
  }
}
`);
  spawnSync('chmod', ['-R', 'a+rX', work]);
  spawnSync('chmod', ['a+rx', tmpdir()]);
  const r = spawnSync(nginx, ['-c', join(prefix, 'nginx.conf'), '-p', prefix], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`nginx did not start: ${r.stderr || r.stdout}`);
  onCleanup(() => process.kill(Number(readFileSync(join(prefix, 'nginx.pid'), 'utf8')), 'SIGTERM'));
  return `http://127.0.0.1:${port}`;
}

/** The load average now, for the table's heading. */
export const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * Prints the table of ops timed in rounds: `times[op]` = ms per round, ratios
 * against `peerOf(op)` per round (same round), then their median.
 */
export function printTable(ops, times, peerOf, notes = {}) {
  console.log('| operation | median ms | min ms | vs peer (median of per-round ratios) | per-round ratios | target |');
  console.log('|---|---:|---:|---:|---|---|');
  for (const [op, label] of ops) {
    const t = times[op];
    if (!t?.length) continue;
    const peer = peerOf(op);
    const ratios = peer && peer !== op ? t.map((x, i) => x / times[peer][i]) : null;
    console.log(`| ${label} | ${median(t).toFixed(0)} | ${Math.min(...t).toFixed(0)} | ${ratios ? median(ratios).toFixed(2) + '×' : '1.00× (peer)'} | ` +
      `${ratios ? ratios.map((r) => r.toFixed(2)).join(' ') : ''} | ${notes[op] ?? ''} |`);
  }
}

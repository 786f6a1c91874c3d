#!/usr/bin/env node
// A real S3 engine for tests and benchmarks: Ceph's RADOS Gateway from
// Debian's packages (ceph-mon ceph-osd ceph-mgr radosgw), one node on
// loopback, everything under one temporary folder (TOOLCHAIN.md, "A real S3
// engine"). One monitor (msgr2 only), one memstore OSD, radosgw on beast —
// every daemon with a cephx key (radosgw cannot authenticate with auth
// `none`), pools of size 1, and an S3 user made with radosgw-admin. RGW serves
// S3 without a mgr (checked, 16.2), which would cost ~300 MB and a share of
// the CPU per cluster while several test runs share 2 cores: `{ mgr: true }`
// starts one.
//
// Library: `const rgw = await startRgw(); … await rgw.stop()` gives
// { endpoint, accessKeyId, secretAccessKey, region, dir, pids }.
// Command: `node scripts/rgw.js` starts one, prints the AWS_* variables to use
// it and keeps it up until Ctrl-C (or SIGTERM).
//
// The daemons run in the foreground as children of this process (so a Ctrl-C
// on the terminal reaches them too), and a small watchdog kills them if this
// process dies without calling stop() — no daemon outlives its owner.
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync, existsSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { randomUUID, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

/** The Debian packages that provide the daemons (.ci/run installs them). */
export const RGW_PACKAGES = ['ceph-mon', 'ceph-osd', 'ceph-mgr', 'radosgw'];
const BINARIES = ['ceph-mon', 'ceph-osd', 'ceph-mgr', 'radosgw', 'radosgw-admin', 'monmaptool', 'ceph-authtool', 'ceph'];
/** Generous: the whole cluster is up in ~12 s on an idle 2-core machine, several times that under load. */
const START_TIMEOUT_MS = 180_000;

async function freePort() {
  const s = createServer();
  await new Promise((ok, fail) => { s.once('error', fail); s.listen(0, '127.0.0.1', ok); });
  const port = s.address().port;
  await new Promise((ok) => s.close(ok));
  return port;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function which(bin) {
  for (const d of (process.env.PATH || '/usr/bin:/bin').split(':').concat(['/usr/sbin', '/usr/bin', '/sbin'])) {
    if (existsSync(join(d, bin))) return join(d, bin);
  }
  return null;
}

/** Names of the binaries that are missing (empty when RGW can be started). */
export function missingRgwBinaries() {
  return BINARIES.filter((b) => !which(b));
}

/**
 * Starts a one-node Ceph cluster with radosgw on 127.0.0.1. Rejects (after
 * stopping whatever did start) when something fails, with the relevant log.
 * @param {{ memstoreBytes?: number, mgr?: boolean, log?: (line: string) => void }} [opts]
 */
export async function startRgw(opts = {}) {
  const missing = missingRgwBinaries();
  if (missing.length) {
    throw new Error(`Ceph RGW cannot start: ${missing.join(', ')} not found (apt-get install -y --no-install-recommends ${RGW_PACKAGES.join(' ')})`);
  }
  const say = opts.log ?? (() => {});
  const t0 = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'safeckpt-rgw-'));
  const conf = join(dir, 'ceph.conf');
  const keyring = join(dir, 'keyring');
  const fsid = randomUUID();
  const [monPort, rgwPort] = [await freePort(), await freePort()];
  const children = [];
  const env = { ...process.env, CEPH_CONF: conf };
  for (const d of ['run', 'log', 'mon', 'osd', 'mgr', 'rgw']) mkdirSync(join(dir, d));

  const memstoreBytes = opts.memstoreBytes ?? 4 * 2 ** 30;
  writeFileSync(conf, `[global]
fsid = ${fsid}
mon host = v2:127.0.0.1:${monPort}
mon initial members = a
public network = 127.0.0.0/8
ms bind msgr1 = false
ms bind ipv6 = false
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
keyring = ${keyring}
run dir = ${dir}/run
admin socket = ${dir}/run/$name.asok
pid file = ${dir}/run/$name.pid
log file = ${dir}/log/$name.log
log to stderr = false
err to stderr = true
crash dir = ${dir}/crash
exporter sock dir = ${dir}/run
mon data = ${dir}/mon/$cluster-$id
osd data = ${dir}/osd/$cluster-$id
mgr data = ${dir}/mgr/$cluster-$id
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
osd crush chooseleaf type = 0
osd objectstore = memstore
memstore device bytes = ${memstoreBytes}
osd op num threads per shard = 1
mgr initial modules =
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:${rgwPort}
rgw data = ${dir}/rgw
rgw enable usage log = false
rgw dns name = 127.0.0.1
`);

  const run = (bin, args) => {
    const r = spawnSync(bin, ['-c', conf, ...args], { env, encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0) throw new Error(`${bin} ${args.join(' ')} failed (${r.status ?? r.signal}): ${(r.stderr || r.stdout || r.error?.message || '').trim().slice(-2000)}`);
    return r.stdout;
  };
  const daemon = (bin, args, name) => {
    const child = spawn(bin, ['-f', '-c', conf, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => { err = (err + d).slice(-4000); });
    child.on('exit', (code, signal) => { child.exitedWith = code ?? signal; });
    child.stderr.unref?.();
    child.unref();
    children.push({ name, child, get err() { return err; } });
    return child;
  };
  const logTail = (name) => {
    const f = join(dir, 'log', `${name}.log`);
    return existsSync(f) ? readFileSync(f, 'utf8').split('\n').slice(-30).join('\n') : '(no log)';
  };
  // A watchdog that outlives nothing: it kills the daemons once this process is gone.
  const watchdog = spawn('sh', ['-c', `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; kill -9 $(cat ${dir}/watch.pids 2>/dev/null) 2>/dev/null; rm -rf ${dir}`], {
    detached: true, stdio: 'ignore',
  });
  watchdog.unref();
  const remember = (pid) => appendFileSync(join(dir, 'watch.pids'), `${pid}\n`);

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // A throwaway cluster: nothing to flush, and a memstore OSD would dump all its objects to disk on SIGTERM.
    for (const { child } of children) if (child.exitedWith === undefined) { try { child.kill('SIGKILL'); } catch {} }
    const deadline = Date.now() + 10_000;
    while (children.some(({ child }) => child.exitedWith === undefined && alive(child.pid)) && Date.now() < deadline) await sleep(50);
    try { process.kill(watchdog.pid, 'SIGKILL'); } catch {}
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    // Keys for every daemon in one keyring; the monitor imports them all at mkfs.
    run('ceph-authtool', ['--create-keyring', keyring, '--gen-key', '-n', 'mon.', '--cap', 'mon', 'allow *']);
    run('ceph-authtool', [keyring, '--gen-key', '-n', 'client.admin', '--cap', 'mon', 'allow *', '--cap', 'osd', 'allow *', '--cap', 'mgr', 'allow *', '--cap', 'mds', 'allow *']);
    run('ceph-authtool', [keyring, '--gen-key', '-n', 'mgr.x', '--cap', 'mon', 'allow profile mgr', '--cap', 'osd', 'allow *', '--cap', 'mds', 'allow *']);
    run('ceph-authtool', [keyring, '--gen-key', '-n', 'client.rgw.a', '--cap', 'mon', 'allow rw', '--cap', 'osd', 'allow rwx', '--cap', 'mgr', 'allow rw']);
    run('monmaptool', ['--create', '--fsid', fsid, '--addv', 'a', `[v2:127.0.0.1:${monPort}]`, join(dir, 'monmap')]);
    run('ceph-mon', ['--mkfs', '-i', 'a', '--monmap', join(dir, 'monmap'), '--keyring', keyring]);
    remember(daemon('ceph-mon', ['-i', 'a'], 'mon.a').pid);
    say(`mon up at v2:127.0.0.1:${monPort}`);

    // The OSD: registered with its own cephx secret, then made and started.
    const osdUuid = randomUUID();
    const osdSecret = run('ceph-authtool', ['--gen-print-key']).trim();
    writeFileSync(join(dir, 'osd.json'), JSON.stringify({ cephx_secret: osdSecret }));
    const osdId = run('ceph', ['--connect-timeout', '60', 'osd', 'new', osdUuid, '-i', join(dir, 'osd.json')]).trim();
    run('ceph-authtool', [keyring, '-n', `osd.${osdId}`, '--add-key', osdSecret]);
    mkdirSync(join(dir, 'osd', `ceph-${osdId}`), { recursive: true });
    run('ceph-osd', ['-i', osdId, '--mkfs', '--osd-uuid', osdUuid]);
    remember(daemon('ceph-osd', ['-i', osdId], `osd.${osdId}`).pid);
    if (opts.mgr) {
      mkdirSync(join(dir, 'mgr', 'ceph-x'), { recursive: true });
      remember(daemon('ceph-mgr', ['-i', 'x'], 'mgr.x').pid);
    }
    say('osd started');

    // radosgw creates its pools on first start; it needs the OSD up to do so.
    const osdDeadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      const stat = spawnSync('ceph', ['-c', conf, 'osd', 'stat', '-f', 'json'], { env, encoding: 'utf8', timeout: 30_000 });
      if (stat.status === 0 && JSON.parse(stat.stdout || '{}').num_up_osds >= 1) break;
      checkAlive();
      if (Date.now() > osdDeadline) throw new Error(`the OSD did not come up in ${START_TIMEOUT_MS / 1000} s:\n${logTail(`osd.${osdId}`)}`);
      await sleep(300);
    }
    say('osd up');
    remember(daemon('radosgw', ['-n', 'client.rgw.a'], 'client.rgw.a').pid);
    const endpoint = `http://127.0.0.1:${rgwPort}`;
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      checkAlive();
      try {
        const r = await fetch(endpoint + '/', { signal: AbortSignal.timeout(5000) });
        await r.arrayBuffer();
        if (r.status < 500) break;
      } catch {}
      if (Date.now() > deadline) throw new Error(`radosgw did not answer on ${endpoint} in ${START_TIMEOUT_MS / 1000} s:\n${logTail('client.rgw.a')}`);
      await sleep(300);
    }
    const accessKeyId = 'SAFECKPT' + randomBytes(6).toString('hex').toUpperCase();
    const secretAccessKey = randomBytes(24).toString('base64url');
    run('radosgw-admin', ['-n', 'client.admin', 'user', 'create', '--uid', 'safeckpt', '--display-name', 'safeckpt tests',
      '--access-key', accessKeyId, '--secret', secretAccessKey]);
    say(`radosgw serving ${endpoint} after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return {
      endpoint, accessKeyId, secretAccessKey, region: 'us-east-1', dir,
      pids: children.map(({ child }) => child.pid),
      /** The AWS_* variables a client needs to use this gateway. */
      env: { AWS_ENDPOINT_URL: endpoint, AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_REGION: 'us-east-1' },
      /**
       * Frees the space of deleted objects now (RGW's garbage collection, which otherwise runs hours later):
       * a memstore OSD counts deleted data until then, and a long benchmark fills it (BENCHMARKS.md "s3").
       */
      gc: () => void run('radosgw-admin', ['-n', 'client.admin', 'gc', 'process', '--include-all']),
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }

  function checkAlive() {
    for (const c of children) {
      if (c.child.exitedWith !== undefined) throw new Error(`${c.name} exited (${c.child.exitedWith}): ${c.err.trim()}\n${logTail(c.name)}`);
    }
  }
}

function alive(pid) {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const rgw = await startRgw({ log: (l) => console.error(`rgw: ${l}`) });
  for (const [k, v] of Object.entries(rgw.env)) console.log(`export ${k}=${v}`);
  console.error('rgw: up; Ctrl-C stops it');
  const quit = async () => { await rgw.stop(); process.exit(0); };
  process.on('SIGINT', quit);
  process.on('SIGTERM', quit);
  setInterval(() => {}, 1 << 30);
}

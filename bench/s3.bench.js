// Checkpoints in object storage, against the client users would otherwise pick:
// 1 GiB to and from the same Ceph RGW (scripts/rgw.js, on loopback, memstore),
// - upload: safeckpt saveCheckpoint of a model of 16 F32 variables (1 GiB) to
//   s3:// — both digests (file and per-tensor SHA-256), sidecar, manifest and
//   the commit by a conditional PUT of LATEST — vs @aws-sdk/lib-storage
//   `Upload` of the same number of bytes from a Buffer (nothing hashed);
// - download: safeckpt loadCheckpoint (every tensor fetched by ranged GETs and
//   verified against the sidecar and manifest, then restored into the
//   variables) and readSafetensors (fetch + verify only) vs
//   @aws-sdk/client-s3 GetObject of the SDK's object into memory.
// Each operation in a fresh process (cold, as a serverless invocation is), ops
// interleaved round by round, median of ROUNDS; RSS is sampled every 10 ms
// during the operation and reported above the RSS before it (the model itself
// and the SDK's source Buffer are there before: what is reported is what the
// transfer costs on top).
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';

const VARS = 16;
const BYTES = Number(process.env.SAFECKPT_BENCH_S3_BYTES || 1 << 30);
const ROUNDS = Number(process.env.SAFECKPT_BENCH_ROUNDS || 3);
const SHAPE = [BYTES / VARS / 4 / 256, 256];
const BUCKET = 'bench';
const self = fileURLToPath(import.meta.url);

/** CPU-seconds every process on the machine spent busy so far (Linux /proc/stat; null elsewhere). */
function machineBusy() {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    return (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) / 100; // user nice system irq softirq steal (USER_HZ = 100)
  } catch {
    return null;
  }
}

function sampler() {
  const before = process.memoryUsage.rss();
  const cpu0 = process.cpuUsage(), busy0 = machineBusy();
  let peak = before;
  const t = setInterval(() => { peak = Math.max(peak, process.memoryUsage.rss()); }, 10);
  return () => {
    clearInterval(t);
    peak = Math.max(peak, process.memoryUsage.rss());
    const cpu = process.cpuUsage(cpu0), busy1 = machineBusy();
    return { extra: peak - before, cpu: (cpu.user + cpu.system) / 1e6, busy: busy0 === null ? null : busy1 - busy0 };
  };
}

async function setupVars(seeded) {
  const tf = await import('../build/tf.js');
  await tf.initTf();
  const vars = {};
  for (let i = 0; i < VARS; i++) {
    const name = `layer.${String(i).padStart(2, '0')}.weight`;
    // In a tidy, as a model's layers make them: the initial values go, and each variable owns its memory.
    vars[name] = tf.tidy(() => tf.variable(seeded ? tf.randomUniform(SHAPE, -1, 1, 'float32', i + 1) : tf.zeros(SHAPE), true, name));
  }
  return { tf, vars };
}

function sdkClient(S3Client) {
  return new S3Client({
    endpoint: process.env.AWS_ENDPOINT_URL, region: process.env.AWS_REGION, forcePathStyle: true,
    credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID, secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY },
  });
}

async function child(op) {
  let t0, stop, check;
  if (op === 'up-safeckpt' || op === 'down-safeckpt' || op === 'read-safeckpt') {
    const lib = await import('../dist/index.js');
    await lib.ready();
    const { vars, tf } = op === 'read-safeckpt' ? {} : await setupVars(op === 'up-safeckpt');
    const store = new lib.S3Store({ bucket: BUCKET, prefix: 'safeckpt' });
    if (op === 'up-safeckpt') {
      stop = sampler(); t0 = performance.now();
      await lib.saveCheckpoint(store, { model: vars, step: 1 });
    } else if (op === 'down-safeckpt') {
      stop = sampler(); t0 = performance.now();
      await lib.loadCheckpoint(store, { model: vars, tf });
      check = Array.from(vars['layer.15.weight'].dataSync().subarray(0, 2)).join();
    } else {
      const latest = new TextDecoder().decode(await store.read('LATEST')).trim();
      stop = sampler(); t0 = performance.now();
      const f = await lib.readSafetensors({ store, key: `${latest}/model.safetensors` }, { load: 'all', ...(process.env.SAFECKPT_BENCH_WORKERS ? { workers: Number(process.env.SAFECKPT_BENCH_WORKERS) } : {}) });
      check = Array.from(f.tensors['layer.15.weight'].toFloat32().subarray(0, 2)).join();
    }
  } else {
    const { S3Client, GetObjectCommand } = await import('@aws-sdk/client-s3');
    const client = sdkClient(S3Client);
    if (op === 'up-sdk') {
      const { Upload } = await import('@aws-sdk/lib-storage');
      const body = randomFillSync(Buffer.allocUnsafe(BYTES));
      stop = sampler(); t0 = performance.now();
      await new Upload({ client, params: { Bucket: BUCKET, Key: 'sdk/model.bin', Body: body } }).done();
    } else {
      stop = sampler(); t0 = performance.now();
      const res = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'sdk/model.bin' }));
      const bytes = await res.Body.transformToByteArray();
      if (bytes.length !== BYTES) throw new Error(`SDK download: ${bytes.length} bytes`);
    }
  }
  const ms = performance.now() - t0;
  const { extra, cpu, busy } = stop();
  process.stdout.write(JSON.stringify({ ms, extra, cpu, busy, check }) + '\n');
  process.exit(0);
}

if (process.argv[2] === '--child') {
  await child(process.argv[3]);
} else {
  const { startRgw } = await import('../scripts/rgw.js');
  const rgw = await startRgw({ memstoreBytes: 6 * BYTES + (1 << 30) });
  try {
    const lib = await import('../dist/index.js');
    const admin = new lib.S3Store({ bucket: BUCKET, endpoint: rgw.endpoint, region: rgw.region, credentials: { accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey } });
    await admin.createBucket();
    const env = { ...process.env, ...rgw.env, AWS_SDK_JS_SUPPRESS_NODE_VERSION_WARNING: '1', NODE_NO_WARNINGS: '1' };
    const run = (op) => {
      const r = spawnSync(process.execPath, ['--expose-gc', self, '--child', op], { env, encoding: 'utf8', maxBuffer: 1 << 20 });
      const line = r.stdout.trim().split('\n').pop();
      if (r.status !== 0 || !line?.startsWith('{')) throw new Error(`${op} failed (${r.status}): ${r.stderr.slice(-3000)}`);
      return JSON.parse(line);
    };
    const ops = ['up-sdk', 'up-safeckpt', 'down-sdk', 'down-safeckpt', 'read-safeckpt'];
    const times = Object.fromEntries(ops.map((o) => [o, []]));
    const mem = Object.fromEntries(ops.map((o) => [o, 0]));
    const loads = [];
    for (let round = 0; round < ROUNDS; round++) {
      await admin.remove('');
      rgw.gc(); // or the deleted rounds' data fills the memstore OSD after a few rounds

      loads.push(loadavg()[0]);
      for (const op of ops) {
        const r = run(op);
        times[op].push(r.ms);
        mem[op] = Math.max(mem[op], r.extra);
        if (op === 'down-safeckpt' || op === 'read-safeckpt') {
          if (!r.check || r.check === '0,0') throw new Error(`${op}: restored values look wrong (${r.check})`);
        }
      }
    }
    await admin.remove('');
    const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
    const MiB = 2 ** 20;
    const row = (label, op, peer) => {
      const t = med(times[op]);
      const ratio = peer ? ` | ${(t / med(times[peer])).toFixed(2)}×` : ' | 1.00×';
      return `| ${label} | ${(t / 1000).toFixed(2)} s | ${(BYTES / MiB / (t / 1000)).toFixed(0)} MiB/s${ratio} | ${(mem[op] / MiB).toFixed(0)} MiB |`;
    };
    console.log(`${BYTES / MiB} MiB (16 F32 variables) to/from Ceph RGW ${'16.2'} on 127.0.0.1 (memstore), median of ${ROUNDS} rounds, each op in a fresh process; load average ${loads.map((l) => l.toFixed(1)).join(', ')} at the rounds' starts\n`);
    console.log('| operation | time | throughput | vs the SDK | RSS added during the op (peak) |');
    console.log('|---|---|---|---|---|');
    console.log(row('upload: @aws-sdk/lib-storage Upload (plain bytes)', 'up-sdk'));
    console.log(row('upload: safeckpt saveCheckpoint (both digests, sidecar, manifest, conditional LATEST)', 'up-safeckpt', 'up-sdk'));
    console.log(row('download: @aws-sdk/client-s3 GetObject (plain bytes)', 'down-sdk'));
    console.log(row('download: safeckpt loadCheckpoint (verified, restored into the variables)', 'down-safeckpt', 'down-sdk'));
    console.log(row('download: safeckpt readSafetensors load all (verified)', 'read-safeckpt', 'down-sdk'));
    console.log(`\nall times (ms): ${JSON.stringify(Object.fromEntries(ops.map((o) => [o, times[o].map(Math.round)])))}`);
  } finally {
    await rgw.stop();
  }
}

// Runs a training job (test/_ckpt-job.js) in a FRESH realm and returns its
// report: a new process in Node and Deno (spawned, so nothing of the test's
// TensorFlow.js engine, wasm instance or module state is shared), a new module
// Worker in Chromium (its own global scope, module graph, engine and wasm
// instance; it shares only the origin's storage, which is where the
// checkpoint is).
import { runtime, isBrowser } from './_env.js';

/** Runs `spec` fresh; resolves to the job's result. */
export async function freshJob(spec) {
  if (isBrowser) {
    const w = new Worker('/build/test-workers/ckpt.worker.js', { type: 'module' });
    try {
      const msg = await new Promise((ok, fail) => {
        w.onmessage = (e) => ok(e.data);
        w.onerror = (e) => fail(new Error(`worker failed: ${e.message}`));
        w.postMessage(spec);
      });
      if (!msg.ok) throw Object.assign(new Error(`fresh job failed: ${msg.error.code}: ${msg.error.message}\n${msg.error.stack}`), { code: msg.error.code });
      return msg.result;
    } finally {
      w.terminate();
    }
  }
  const { out } = await spawnJob(spec);
  const line = out.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`fresh job printed no result:\n${out}`);
  return JSON.parse(line.slice(7));
}

/** The command that runs test/_ckpt-worker.js in this runtime. */
export async function workerCommand() {
  const { fileURLToPath } = await import('node:url');
  const script = fileURLToPath(new URL('./_ckpt-worker.js', import.meta.url));
  return runtime === 'deno'
    ? { cmd: Deno.execPath(), args: ['run', '-A', '--quiet', script] }
    : { cmd: process.execPath, args: [script] };
}

/**
 * Spawns the worker script with `spec`. `onReady(child)` runs when it prints READY, `onStep(step, child)`
 * after each step it completed (so a test can kill it mid-training). Resolves with its output and exit status.
 */
export async function spawnJob(spec, onReady, onStep) {
  const { spawn } = await import('node:child_process');
  const { cmd, args } = await workerCommand();
  return new Promise((ok, fail) => {
    const child = spawn(cmd, [...args, JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let out = '', err = '', readySeen = false;
    child.stdout.on('data', (d) => {
      out += d;
      if (!readySeen && out.includes('READY')) { readySeen = true; onReady?.(child); }
      if (onStep) for (const m of String(d).matchAll(/STEP (\d+)/g)) onStep(Number(m[1]), child);
    });
    child.stderr.on('data', (d) => { err += d; });
    child.on('error', fail);
    child.on('close', (code, signal) => {
      if (code !== 0 && signal === null) fail(new Error(`job exited with ${code}:\n${out}\n${err}`));
      else ok({ out, err, code, signal });
    });
  });
}

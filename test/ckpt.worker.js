// Chromium entry of a fresh-realm training job: a module Worker has its own
// global scope, module graph, TensorFlow.js engine and wasm instance, so a job
// run here shares nothing with the page but the store (OPFS / IndexedDB).
// test/run.js bundles it to build/test-workers/ckpt.worker.js.
import { runJob } from './_ckpt-job.js';

self.onmessage = async (e) => {
  try {
    self.postMessage({ ok: true, result: await runJob(e.data) });
  } catch (err) {
    self.postMessage({ ok: false, error: { code: err?.code, message: String(err?.message ?? err), stack: String(err?.stack ?? '') } });
  }
};

// Node/Deno entry of a fresh-process training job: `node test/_ckpt-worker.js '<json spec>'`.
// Prints `READY` when training starts and one `RESULT {json}` line at the end.
import { runJob } from './_ckpt-job.js';

const args = globalThis.Deno ? Deno.args : process.argv.slice(2);
const spec = JSON.parse(args[0]);
const result = await runJob(spec, () => console.log('READY'), (step) => console.log(`STEP ${step}`));
console.log('RESULT ' + JSON.stringify(result));
if (globalThis.Deno) Deno.exit(0);
else process.exit(0);

// Node/Deno entry of a fresh-process training job: `node test/_ckpt-worker.js '<json spec>'`.
// Prints `READY` when training starts and one `RESULT {json}` line at the end.
// With spec.die = { at, mid } the job's checkpoint root goes through a FaultStore
// (test/_fault-store.js) that SIGKILLs this process before its store operation
// `at` (or half-way through that write): a kill at a chosen point of a chosen
// save, whatever the machine's load. With spec.die = { trace: true } nothing
// dies and the job prints `TRACE [[op, key, size], …]` (every store operation).
import { runJob } from './_ckpt-job.js';
import { FsStore } from '../dist/index.js';
import { FaultStore } from './_fault-store.js';

const args = globalThis.Deno ? Deno.args : process.argv.slice(2);
const spec = JSON.parse(args[0]);
let fault;
if (spec.die) {
  const die = () => {
    process.kill(process.pid, 'SIGKILL');
    for (;;); // never reached: nothing of this process runs after its kill point
  };
  fault = new FaultStore(new FsStore(spec.root), { at: spec.die.at ?? Infinity, mid: !!spec.die.mid, onDie: die });
  spec.root = { store: fault, key: '' };
}
const result = await runJob(spec, () => console.log('READY'), (step) => console.log(`STEP ${step}`));
if (fault) console.log('TRACE ' + JSON.stringify(fault.trace.map((t) => [t.op, t.key, t.size ?? 0])));
console.log('RESULT ' + JSON.stringify(result));
if (globalThis.Deno) Deno.exit(0);
else process.exit(0);

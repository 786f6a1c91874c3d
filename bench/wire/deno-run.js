// The wire bench's ops under Deno (bench/wire-edge.bench.js starts it):
// safeckpt from dist/, fetch + WebCrypto for the peers. Prints one JSON line:
// { times: op → [ms per round], runtime }.
import * as lib from '../../dist/index.js';
import { ops, timed } from './ops.js';

const [metaJson, rounds, order] = Deno.args;
const m = JSON.parse(metaJson);
const table = ops(lib, m);
const times = {};
for (let r = 0; r < Number(rounds); r++) {
  for (const op of order.split(',')) (times[op] ??= []).push(await timed(table, op, m, r === 0));
}
console.log(JSON.stringify({ times, runtime: `Deno ${Deno.version.deno} (V8 ${Deno.version.v8})`, engine: lib.hashEngineInfo?.() ?? {} }));

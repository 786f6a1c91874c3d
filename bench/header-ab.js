// A/B of two builds of the core's header parser (how the shrink level of core.wasm was chosen, BENCHMARKS.md
// "size"): this process runs the core in the .wasm file given (provideCoreModule, as workerd gets it) and times
// parseHeader of a 10,000-tensor header, with and without every TensorInfo, and JSON.parse + JS validation,
// interleaved round by round. Run it for each build in turn, several times, under the bench lock:
//   for i in 1 2 3; do node bench/header-ab.js a.wasm 100; node bench/header-ab.js b.wasm 100; done
// Prints one JSON line: median ms of each, and the ratios. Build a variant with
//   node node_modules/assemblyscript/bin/asc.js assembly/index.ts --config asconfig.json --target release --shrinkLevel N --outFile b.wasm
import { readFileSync } from 'node:fs';
import { provideCoreModule } from '../dist/core/wasm.js';
provideCoreModule(new WebAssembly.Module(readFileSync(process.argv[2])));
const { parseHeader } = await import('../dist/index.js');
const { modelParse } = await import('../test/_safetensors-model.js');
const { makeFile } = await import('./_state-dict.js');
const { head, fileSize } = makeFile(10_000);
const RUNS = Number(process.argv[3] ?? 40);
const fns = [() => parseHeader(head, { fileSize }), () => modelParse(head, fileSize), () => { const h = parseHeader(head, { fileSize }); return [...h.tensors()]; }];
for (const f of fns) for (let i = 0; i < 5; i++) f();
const xs = fns.map(() => []);
for (let i = 0; i < RUNS; i++) for (let k = 0; k < fns.length; k++) { const t = performance.now(); fns[k](); xs[k].push(performance.now() - t); }
const med = (x) => (x.sort((a, b) => a - b), x[x.length >> 1]);
const [a, b, c] = xs.map(med);
console.log(JSON.stringify({ wasm: process.argv[2].split('/').pop(), core: +a.toFixed(3), infos: +c.toFixed(3), json: +b.toFixed(3), ratio: +(b / a).toFixed(2), ratioInfos: +(b / c).toFixed(2) }));

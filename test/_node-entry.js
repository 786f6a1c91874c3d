// Entry for Node and Deno: runs every test/*.test.js (or those matching the
// arguments) through the shared harness and exits non-zero on any failure.
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runAll } from './_harness.js';
import { removeTempDirs } from './_env.js';

const dir = fileURLToPath(new URL('.', import.meta.url));
const filters = (globalThis.Deno ? Deno.args : process.argv.slice(2)).filter((a) => !a.startsWith('-'));
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.test.js'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();

const write = (line) => console.log(line);
const { failed, passed } = await runAll(files.map((f) => [f, () => import(`./${f}`)]), write);
await removeTempDirs();
const code = failed > 0 || passed === 0 ? 1 : 0;
if (globalThis.Deno) Deno.exit(code);
else process.exit(code);

// The core's module for Cloudflare Workers (workerd), which refuses to compile
// WebAssembly from bytes at run time ("Wasm code generation disallowed by
// embedder"): the module arrives as an import of the file dist/core/core.wasm,
// which wrangler (and any workerd config, as a `wasm` module) compiles at
// deploy time. package.json maps `#core-wasm` here under the workerd condition
// (wrangler sets workerd, worker, browser); wasm-module.ts is the other side.
import wasm from './core.wasm';
import type * as Embedded from './wasm-module.js';

export const CORE_DELIVERY: typeof Embedded.CORE_DELIVERY = 'module';

export const coreModule: typeof Embedded.coreModule = () => wasm;

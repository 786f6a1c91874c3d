// The package's entry under the `workerd` export condition (Cloudflare Workers;
// wrangler sets it): the API of index.ts, with the WASM core imported as two
// modules, dist/core/core.wasm (header, shapes) and dist/core/sha256.wasm. Workers refuse to compile WebAssembly from
// bytes at run time, which is how every other runtime gets the core (the bytes
// embedded in core/wasm-bytes.ts); wrangler, and a workerd config's `wasm`
// module, compile this file at deploy time instead.
import coreWasm from './core/core.wasm';
import sha256Wasm from './core/sha256.wasm';
import { provideCoreModule } from './core/wasm.js';
import { provideSha256Module } from './core/sha256-wasm.js';

provideCoreModule(coreWasm);
provideSha256Module(sha256Wasm);

export * from './index.js';

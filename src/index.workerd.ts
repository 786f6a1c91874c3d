// The package's entry under the `workerd` export condition (Cloudflare Workers;
// wrangler sets it): the API of index.ts, with the WASM core imported as a
// module from dist/core/core.wasm. Workers refuse to compile WebAssembly from
// bytes at run time, which is how every other runtime gets the core (the bytes
// embedded in core/wasm-bytes.ts); wrangler, and a workerd config's `wasm`
// module, compile this file at deploy time instead.
import coreWasm from './core/core.wasm';
import { provideCoreModule } from './core/wasm.js';

provideCoreModule(coreWasm);

export * from './index.js';

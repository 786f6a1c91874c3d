// dist/core/core.wasm (copied from build/core.wasm by scripts/build.js), as
// workerd and wrangler import it: a compiled WebAssembly.Module.
declare const module: WebAssembly.Module;
export default module;

// dist/core/sha256.wasm (copied from build/sha256.wasm by scripts/build.js), as
// workerd and wrangler import it: a compiled WebAssembly.Module.
declare const module: WebAssembly.Module;
export default module;

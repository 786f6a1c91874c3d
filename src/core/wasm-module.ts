// The core's compiled module, from the bytes embedded in this build: for every
// runtime that compiles WebAssembly at run time (Node, Deno, Bun, browsers).
// package.json maps `#core-wasm` here, except under the `workerd` condition
// (wasm-module-workerd.ts), where compiling bytes is forbidden.
import { CORE_WASM_BASE64 } from './wasm-bytes.js';
import { UnsupportedError } from '../errors.js';

function decodeBase64(b64: string): Uint8Array {
  if (typeof atob !== 'function') throw new UnsupportedError('this runtime has no atob() to decode the safeckpt core', { detail: 'NO_WASM' });
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** How this build delivers the core: compiled here from embedded bytes. */
export const CORE_DELIVERY = 'embedded' as 'embedded' | 'module';

export function coreModule(): WebAssembly.Module {
  return new WebAssembly.Module(decodeBase64(CORE_WASM_BASE64) as BufferSource);
}

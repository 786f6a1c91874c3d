// The core's SHA-256 module (assembly/sha256-index.ts): a second WebAssembly module, so that a page ships
// only the header parser at start. Its bytes are a chunk of their own (sha256-wasm-bytes.ts), loaded by
// loadSha256Module() when the hash engines load (ready(): every operation on large data awaits it), or
// provided as a compiled module where the runtime forbids compiling bytes (index.workerd.ts). Until then a
// CoreHasher runs the same rounds in JS (sha256-js.ts) on the same state, so the sync forms work from the
// first call and give the same digests.
import { compileDeflated, loadCoreModule, type WasmExports } from './wasm.js';
import { UnsupportedError, type CheckpointError } from '../errors.js';

export interface Sha256Exports extends WasmExports {
  sha256State(): number;
  sha256Digest(): number;
  sha256Update(ptr: number, len: number): void;
  sha256Final(): void;
}

let module: WebAssembly.Module | undefined;
let instance: Sha256Exports | undefined;
let loading: Promise<boolean> | undefined;

/** Makes `m` (compiled by the runtime from dist/core/sha256.wasm) the SHA-256 module: it runs from the next update on. */
export function provideSha256Module(m: WebAssembly.Module): void {
  if (typeof WebAssembly === 'undefined' || !(m instanceof WebAssembly.Module)) {
    throw new UnsupportedError(`the safeckpt SHA-256 core must be given as a WebAssembly.Module (an import of dist/core/sha256.wasm), got ${Object.prototype.toString.call(m)}`, { detail: 'NO_WASM' });
  }
  module = m;
}

/**
 * Loads the module's bytes and compiles them, once; resolves true when the module runs from now on. Never
 * rejects: where it cannot load (no WebAssembly, a runtime that forbids compiling bytes and provided none),
 * hashes keep running in JS, with the same digests.
 */
export function loadSha256Module(): Promise<boolean> {
  loading ??= (async () => {
    if (module) return true;
    try {
      const { SHA256_WASM_DEFLATED_BASE64 } = await import('./sha256-wasm-bytes.js');
      module ??= loadCoreModule(() => compileDeflated(SHA256_WASM_DEFLATED_BASE64));
      return true;
    } catch {
      return false;
    }
  })();
  return loading;
}

/** The module's live instance, or undefined while the module has not loaded (the caller hashes in JS). */
export function sha256Wasm(): Sha256Exports | undefined {
  if (!instance && module) instance = new WebAssembly.Instance(module, {}).exports as unknown as Sha256Exports;
  return instance;
}

/** Runs `fn` against the instance; a trap throws it away (the next call gets a fresh one) and surfaces as `onTrap` says. */
export function withSha256<T>(c: Sha256Exports, fn: (c: Sha256Exports) => T, onTrap: (e: unknown) => CheckpointError): T {
  try {
    return fn(c);
  } catch (e) {
    instance = undefined;
    throw onTrap(e);
  }
}

// Loads the embedded core once per realm. The bytes are base64 in a generated
// module (src/core/wasm-bytes.ts, made by scripts/build.js), so the same import
// works in Node, Deno, browsers and bundles without fetch or file access.
import { CORE_WASM_BASE64 } from './wasm-bytes.js';
import { CheckpointError, UnsupportedError } from '../errors.js';

export interface CoreExports {
  memory: WebAssembly.Memory;
  scratchBase(): number;
  reserve(bytes: number): number;
  STATE_BYTES: WebAssembly.Global;
  sha256State(): number;
  sha256Digest(): number;
  sha256Init(): void;
  sha256Update(ptr: number, len: number): void;
  sha256Final(): void;
  [name: string]: unknown;
}

let module: WebAssembly.Module | undefined;
let instance: CoreExports | undefined;

function decodeBase64(b64: string): Uint8Array {
  if (typeof atob === 'function') {
    const bin = atob(b64);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  throw new UnsupportedError('this runtime has neither atob nor WebAssembly support needed by the safeckpt core');
}

/** The live core instance (created on first use, synchronously: the module is small). */
export function core(): CoreExports {
  if (instance) return instance;
  if (!module) module = new WebAssembly.Module(decodeBase64(CORE_WASM_BASE64) as BufferSource);
  instance = new WebAssembly.Instance(module, {}).exports as unknown as CoreExports;
  return instance;
}

/**
 * Runs `fn` against the core. An AssemblyScript trap leaves an instance in an
 * unknown state: it is thrown away (the next call gets a fresh one) and the
 * trap surfaces as the CheckpointError that `onTrap` describes — a trap never
 * escapes as a bare WebAssembly.RuntimeError.
 */
export function withCore<T>(fn: (c: CoreExports) => T, onTrap: (e: unknown) => CheckpointError): T {
  const c = core();
  try {
    return fn(c);
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    instance = undefined;
    throw onTrap(e);
  }
}

/** Scratch memory of at least `bytes`, as a fresh view (memory may have grown). */
export function scratch(c: CoreExports, bytes: number): Uint8Array {
  const ptr = c.reserve(bytes);
  if (ptr === 0) throw new RangeError(`core could not reserve ${bytes} bytes of scratch memory`);
  return new Uint8Array(c.memory.buffer, ptr, bytes);
}

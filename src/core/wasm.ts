// Instantiates the core once per realm: header validation and shape checks,
// which every read needs at once. Its module is compiled from the bytes
// embedded in the build (core/wasm-bytes.ts: Node, Deno, Bun, browsers and
// their bundles, without fetch or file access), unless the entry for a runtime
// that forbids compiling bytes provided one (index.workerd.ts: Cloudflare
// Workers, where it is imported from dist/core/core.wasm as a module). The
// core's SHA-256 is a second module, loaded when the hash engines are
// (sha256-wasm.ts): a page that reads and verifies does not wait for it.
import { inflateRaw } from './inflate.js';
import { CORE_WASM_DEFLATED_BASE64 } from './wasm-bytes.js';
import { CheckpointError, UnsupportedError } from '../errors.js';

/** What every module of the core exports: its memory, and scratch space in it. */
export interface WasmExports {
  memory: WebAssembly.Memory;
  reserve(bytes: number): number;
  [name: string]: unknown;
}

export interface CoreExports extends WasmExports {
  scratchBase(): number;
  /** Where the host writes 1e0 … 1e308 (assembly/tables.ts). */
  pow10Table(): number;
}

let module: WebAssembly.Module | undefined;
let instance: CoreExports | undefined;
let provided: WebAssembly.Module | undefined;

/** Makes `m` (the core, compiled by the runtime from dist/core/core.wasm) the module every core call uses. */
export function provideCoreModule(m: WebAssembly.Module): void {
  if (typeof WebAssembly === 'undefined' || !(m instanceof WebAssembly.Module)) {
    throw new UnsupportedError(`the safeckpt core must be given as a WebAssembly.Module (an import of dist/core/core.wasm), got ${Object.prototype.toString.call(m)}`, { detail: 'NO_WASM' });
  }
  provided = m;
}

/** Where the core comes from here: 'embedded' (compiled from the build's bytes) or 'module' (provided, workerd). */
export function coreDelivery(): 'embedded' | 'module' {
  return provided ? 'module' : 'embedded';
}

function decodeBase64(b64: string): Uint8Array {
  if (typeof atob !== 'function') throw new UnsupportedError('this runtime has no atob() to decode the safeckpt core', { detail: 'NO_WASM' });
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** A module compiled from bytes embedded in the build, raw-deflated and base64 (deflated: 3.6 KB less gzip for every page). */
export function compileDeflated(base64: string): WebAssembly.Module {
  return new WebAssembly.Module(inflateRaw(decodeBase64(base64), 16 << 20) as BufferSource);
}

/** The core compiled from the bytes embedded in the build. */
export function embeddedCoreModule(): WebAssembly.Module {
  return compileDeflated(CORE_WASM_DEFLATED_BASE64);
}

/**
 * The core's module from `load`, or an UNSUPPORTED CheckpointError that says
 * why there is none: no WebAssembly at all (e.g. `node --jitless`, locked-down
 * browsers), or a runtime that forbids compiling bytes and was given the
 * embedded build instead of the `workerd` one.
 */
export function loadCoreModule(load: () => WebAssembly.Module): WebAssembly.Module {
  if (typeof WebAssembly !== 'object' || typeof WebAssembly.Instance !== 'function') {
    throw new UnsupportedError('this runtime has no WebAssembly, which the safeckpt core (header validation, SHA-256, shape checks) needs: '
      + 'run it where WebAssembly is enabled (not under node --jitless or a browser mode that disables it)', { detail: 'NO_WASM' });
  }
  try {
    return load();
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    const message = String((e as Error)?.message ?? e);
    if (/code generation disallowed|disallowed by embedder/i.test(message)) {
      throw new UnsupportedError(`this runtime forbids compiling WebAssembly from bytes (${message}), as Cloudflare Workers does: `
        + "import 'safeckpt' through a bundler with the workerd condition (wrangler does): its entry dist/index.workerd.js imports "
        + 'the core from dist/core/core.wasm and dist/core/sha256.wasm as modules (in a workerd config, those files are `wasm` modules)', { detail: 'WASM_CODEGEN', cause: e });
    }
    throw new UnsupportedError(`the safeckpt core could not be compiled: ${message}`, { detail: 'NO_WASM', cause: e });
  }
}

/** The live core instance (created on first use, synchronously: the module is small). */
export function core(): CoreExports {
  if (instance) return instance;
  module ??= provided ?? loadCoreModule(embeddedCoreModule);
  const c = new WebAssembly.Instance(module, {}).exports as unknown as CoreExports;
  // The powers of ten the number-range check scales by, parsed from their literals: JS rounds a decimal literal
  // of one significant digit correctly, as the compiler did when they were data (2.4 KB that do not compress).
  const pow10 = new Float64Array(c.memory.buffer, c.pow10Table(), 309);
  for (let i = 0; i < 309; i++) pow10[i] = Number(`1e${i}`);
  instance = c;
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
export function scratch(c: WasmExports, bytes: number): Uint8Array {
  const ptr = c.reserve(bytes);
  if (ptr === 0) throw new RangeError(`core could not reserve ${bytes} bytes of scratch memory`);
  return new Uint8Array(c.memory.buffer, ptr, bytes);
}

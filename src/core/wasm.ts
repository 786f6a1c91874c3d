// Instantiates the core once per realm. Where its module comes from depends on
// the runtime (package.json `#core-wasm`): compiled from bytes embedded in the
// build (wasm-module.ts: Node, Deno, Bun, browsers and their bundles, without
// fetch or file access), or imported as a module where the runtime forbids
// compiling bytes (wasm-module-workerd.ts: Cloudflare Workers).
import { coreModule, CORE_DELIVERY } from '#core-wasm';
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

/** How this build got the core: 'embedded' (compiled here from bytes) or 'module' (imported, workerd). */
export const coreDelivery: 'embedded' | 'module' = CORE_DELIVERY;

/**
 * The core's module from `load`, or an UNSUPPORTED CheckpointError that says
 * why there is none: no WebAssembly at all (e.g. `node --jitless`, locked-down
 * browsers), or a runtime that forbids compiling bytes and was given the
 * embedded build instead of the `workerd` one.
 */
export function loadCoreModule(load: () => WebAssembly.Module = coreModule): WebAssembly.Module {
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
        + "import 'safeckpt' through a bundler with the workerd condition (wrangler does), which loads the core from the file "
        + 'dist/core/core.wasm as a module; in a workerd config, add that file as a `wasm` module', { detail: 'WASM_CODEGEN', cause: e });
    }
    throw new UnsupportedError(`the safeckpt core could not be compiled: ${message}`, { detail: 'NO_WASM', cause: e });
  }
}

/** The live core instance (created on first use, synchronously: the module is small). */
export function core(): CoreExports {
  if (instance) return instance;
  module ??= loadCoreModule();
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

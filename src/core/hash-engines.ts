// Which engine computes SHA-256 — a fixed rule per runtime, measured once on this machine and recorded
// in BENCHMARKS.md (npm run bench hash), never timed at run time:
//
//   Node, Deno, Bun (wherever node:crypto loads)   node:crypto for every form, sync, streaming and async
//   browsers, workerd                              the WASM core for the sync and streaming forms, and
//                                                  WebCrypto for async one-shots of ≥ WEBCRYPTO_MIN_BYTES
//
// node:crypto (OpenSSL, SHA-NI where the CPU has it) beat the core and hash-wasm in Node and Deno in every
// run; in browsers WebCrypto beats any WASM for whole buffers but has no streaming form, and the core beat
// hash-wasm's SHA-256. node:crypto loads asynchronously: until `ready()` has resolved (the first async
// hash, or any operation on large data awaits it) the core runs. So does the core's SHA-256 module, a
// chunk of its own (sha256-wasm.ts); before it has, the core's rounds run in JS (sha256-js.ts). Digests
// are identical whichever runs.
// hash-wasm's SHA-256 is no engine: the tests use it as an independent oracle.
import { toBytes, usedAfterDigest, type Hasher, type HashEngine } from './hasher.js';
import { coreEngine, onFirstLargeInput } from './sha256-core.js';
import { loadSha256Module } from './sha256-wasm.js';
import { UnsupportedError } from '../errors.js';

/** The SHA-256 engines safeckpt runs: the WASM core, or node:crypto where it loads. */
export type HashEngineName = 'core' | 'node:crypto';

/** Which engine runs, and whether async one-shots go to WebCrypto. */
export interface HashEngineInfo {
  /** The engine the sync and streaming forms use. */
  engine: HashEngineName;
  /** Whether the async one-shot forms hand inputs of ≥ WEBCRYPTO_MIN_BYTES to WebCrypto. */
  webCrypto: boolean;
  /** Fixed by setHashEngine() rather than by the runtime's rule. */
  pinned: boolean;
}

/** Below this, WebCrypto's promise and thread hop cost more than hashing in place. */
export const WEBCRYPTO_MIN_BYTES = 256 * 1024;

let engine: HashEngine = coreEngine;
let webCrypto = false;
let pinned = false;
let loaded: Promise<HashEngine[]> | undefined;
let selected: Promise<HashEngineInfo> | undefined;
/** What the runtime's rule chose, kept while an engine is pinned. */
let ruleChoice: { engine: HashEngine; webCrypto: boolean } | undefined;

// Large data is coming: load this runtime's engine in the background.
onFirstLargeInput(() => void ready());

/** The engine `sha256`, `createSha256` and `hmacSha256` use now. */
export function hashEngine(): HashEngine {
  return engine;
}

/** Which engine runs now, and whether async one-shots use WebCrypto. */
export function hashEngineInfo(): HashEngineInfo {
  return { engine: engine.name as HashEngineName, webCrypto, pinned };
}

/**
 * Fixes the engine (tests, benchmarks), overriding the runtime's rule; `null` returns to the rule. By
 * name, the engine must be among `availableHashEngines()`. `webCrypto` sets whether the async one-shot
 * forms use WebCrypto (default: off when pinning, the rule's when unpinning).
 */
export async function setHashEngine(
  choice: HashEngine | HashEngineName | null,
  opts: { webCrypto?: boolean } = {},
): Promise<HashEngineInfo> {
  // Pinned to the core, the core runs its module, not the JS rounds it runs while the module loads.
  await loadSha256Module();
  if (choice === null) {
    pinned = false;
    await ready();
    ({ engine, webCrypto } = ruleChoice!);
    if (opts.webCrypto !== undefined) webCrypto = opts.webCrypto && hasWebCrypto();
    return hashEngineInfo();
  }
  let e: HashEngine | undefined;
  if (typeof choice === 'string') {
    e = (await availableHashEngines()).find((x) => x.name === choice);
    if (!e) {
      throw new UnsupportedError(
        `hash engine '${choice}' is not available in this runtime; available: ` +
          (await availableHashEngines()).map((x) => x.name).join(', '),
        { detail: 'HASH_ENGINE' },
      );
    }
  } else {
    e = choice;
  }
  if (opts.webCrypto && !hasWebCrypto()) {
    throw new UnsupportedError('WebCrypto (crypto.subtle) is not available in this runtime', { detail: 'HASH_ENGINE' });
  }
  engine = e;
  webCrypto = opts.webCrypto ?? false;
  pinned = true;
  return hashEngineInfo();
}

/** Every engine that loads in this runtime, the core first (its SHA-256 module loaded). Loads them once. */
export function availableHashEngines(): Promise<HashEngine[]> {
  loaded ??= Promise.all([loadNodeCrypto(), loadSha256Module()]).then(([n]) => (n ? [coreEngine, n] : [coreEngine]));
  return loaded;
}

/**
 * Loads this runtime's engine (node:crypto where it exists) and the core's SHA-256 module, and applies the
 * rule; resolves with the choice. Calling it again returns the same promise. Never rejects: an engine that fails to load, or
 * computes a wrong digest for the FIPS 180-4 "abc" vector, is left out and the core runs.
 */
export function ready(): Promise<HashEngineInfo> {
  selected ??= availableHashEngines().then((engines) => {
    const native = engines.find((e) => e.name === 'node:crypto' && agrees(e));
    ruleChoice = native ? { engine: native, webCrypto: false } : { engine: coreEngine, webCrypto: hasWebCrypto() };
    if (!pinned) ({ engine, webCrypto } = ruleChoice);
    return hashEngineInfo();
  });
  return selected;
}

/** Whether the async one-shot forms should hand `length` bytes to WebCrypto. */
export function useWebCrypto(length: number): boolean {
  return webCrypto && length >= WEBCRYPTO_MIN_BYTES;
}

export function hasWebCrypto(): boolean {
  return typeof globalThis.crypto?.subtle?.digest === 'function';
}

/** FIPS 180-4 "abc": a loaded engine must compute it before it is used. */
function agrees(e: HashEngine): boolean {
  try {
    return equalBytes(e.createSha256().update(new Uint8Array([0x61, 0x62, 0x63])).digest(), ABC);
  } catch {
    return false;
  }
}

const ABC = new Uint8Array([
  0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
  0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
]);

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Wraps a native-style hasher so misuse fails the same way on every engine. */
function guarded(update: (d: Uint8Array) => void, digest: () => Uint8Array): Hasher {
  let done = false;
  const h: Hasher = {
    update(d) {
      if (done) throw usedAfterDigest('update');
      update(toBytes(d));
      return h;
    },
    digest() {
      if (done) throw usedAfterDigest('digest');
      done = true;
      return digest();
    },
  };
  return h;
}

function isServerRuntime(): boolean {
  const g = globalThis as { Deno?: unknown; process?: { versions?: { node?: string } } };
  return g.Deno !== undefined || typeof g.process?.versions?.node === 'string';
}

type NodeCrypto = { createHash(alg: 'sha256'): { update(d: Uint8Array): unknown; digest(): Uint8Array } };

async function loadNodeCrypto(): Promise<HashEngine | null> {
  if (!isServerRuntime()) return null;
  try {
    // A computed specifier: bundlers for the browser must not try to resolve it.
    const specifier = 'node:crypto';
    const { createHash } = (await import(/* @vite-ignore */ /* webpackIgnore: true */ specifier)) as NodeCrypto;
    return {
      name: 'node:crypto',
      createSha256() {
        const h = createHash('sha256');
        return guarded((d) => h.update(d), () => new Uint8Array(h.digest()));
      },
    };
  } catch {
    return null;
  }
}

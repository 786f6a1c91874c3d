// Which engine computes SHA-256. Candidates: the WASM core (always there,
// synchronous from the first call), hash-wasm, and node:crypto where the
// runtime has it (Node, Deno). WebCrypto can only hash a whole buffer
// asynchronously, so it is a candidate for the async one-shot form only.
//
// The host measures once — on `await ready()`, on the first async hash, or in
// the background after the first update of ≥ 1 MiB — and from then on uses
// the fastest engine that also computes the right digests. Until then, and in
// a runtime where nothing else loads, the core runs. Digests are identical
// whichever engine runs; only the speed differs.
import { usedAfterDigest, type Hasher, type HashEngine } from './hasher.js';
import { coreEngine, onFirstLargeInput } from './sha256-core.js';
import { UnsupportedError } from '../errors.js';
import type { IHasher } from 'hash-wasm';

export type HashEngineName = 'core' | 'hash-wasm' | 'node:crypto';

/** What the measurement chose, and what it saw. */
export interface HashEngineInfo {
  /** The engine the sync and streaming forms use. */
  engine: HashEngineName;
  /** Whether the async one-shot forms hand inputs of ≥ WEBCRYPTO_MIN_BYTES to WebCrypto. */
  webCrypto: boolean;
  /** Fixed by setHashEngine() rather than by measurement. */
  pinned: boolean;
  /** MB/s per candidate on the measurement sample (empty before ready() resolved). */
  measured: Partial<Record<HashEngineName | 'webcrypto', number>>;
}

/** Measurement sample: long enough to time above a browser's coarse clock (≥ 0.1 ms even for native code). */
const SAMPLE_BYTES = 256 * 1024;
/**
 * Timed rounds per candidate (the best one counts). Before each, the event
 * loop turns, so that the optimising WASM tier, compiled in the background
 * after the first calls, is what gets measured.
 */
const ROUNDS = 3;
/** Below this, WebCrypto's promise and thread hop cost more than hashing in place. */
export const WEBCRYPTO_MIN_BYTES = 256 * 1024;

let engine: HashEngine = coreEngine;
let webCrypto = false;
let pinned = false;
let measured: HashEngineInfo['measured'] = {};
let loaded: Promise<HashEngine[]> | undefined;
let selected: Promise<HashEngineInfo> | undefined;
/** What the measurement chose, kept while an engine is pinned. */
let choiceMade: { engine: HashEngine; webCrypto: boolean } | undefined;

onFirstLargeInput(() => void ready());

/** The engine `sha256`, `createSha256` and `hmacSha256` use now. */
export function hashEngine(): HashEngine {
  return engine;
}

export function hashEngineInfo(): HashEngineInfo {
  return { engine: engine.name as HashEngineName, webCrypto, pinned, measured: { ...measured } };
}

/**
 * Fixes the engine (tests, benchmarks), overriding the measurement; `null`
 * returns to the measured choice, measuring first if that was never done. By name, the
 * engine must be among `availableHashEngines()`, which loads them. `webCrypto`
 * sets whether the async one-shot forms use WebCrypto (default: off when
 * pinning, measured when unpinning).
 */
export async function setHashEngine(
  choice: HashEngine | HashEngineName | null,
  opts: { webCrypto?: boolean } = {},
): Promise<HashEngineInfo> {
  if (choice === null) {
    pinned = false;
    engine = choiceMade?.engine ?? coreEngine;
    webCrypto = choiceMade?.webCrypto ?? false;
    await ready();
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

/** Every engine that loads in this runtime, the core first. Loads them once. */
export function availableHashEngines(): Promise<HashEngine[]> {
  loaded ??= Promise.all([loadHashWasm(), loadNodeCrypto()]).then((more) => [
    coreEngine,
    ...more.filter((e): e is HashEngine => e !== null),
  ]);
  return loaded;
}

/**
 * Loads the candidates and measures them once (about 20 ms); resolves with the
 * choice. Calling it again returns the same promise. Never rejects: a
 * candidate that fails to load or computes a wrong digest is left out.
 */
export function ready(): Promise<HashEngineInfo> {
  selected ??= select();
  return selected;
}

/** Whether the async one-shot forms should hand `length` bytes to WebCrypto. */
export function useWebCrypto(length: number): boolean {
  return webCrypto && length >= WEBCRYPTO_MIN_BYTES;
}

export function hasWebCrypto(): boolean {
  return typeof globalThis.crypto?.subtle?.digest === 'function';
}

async function select(): Promise<HashEngineInfo> {
  const engines = await availableHashEngines();
  const sample = new Uint8Array(SAMPLE_BYTES);
  for (let i = 0; i < sample.length; i++) sample[i] = (Math.imul(i, 0x9e3779b1) >>> 24) & 0xff;
  // The untimed first pass checks every candidate and gets the WASM engines
  // past their baseline tier (V8's Liftoff runs the core at ~10 MB/s).
  const want = coreEngine.createSha256().update(sample).digest();
  const correct = engines.filter((e) => agrees(e, sample, want));
  const subtle = hasWebCrypto() ? globalThis.crypto.subtle : undefined;
  const best = new Map<string, number>();
  for (let r = 0; r < ROUNDS; r++) {
    await new Promise((resolve) => setTimeout(resolve, 0));
    for (const e of correct) {
      const t0 = performance.now();
      e.createSha256().update(sample).digest();
      record(best, e.name, performance.now() - t0);
    }
    if (subtle) {
      try {
        const t0 = performance.now();
        const d = new Uint8Array(await subtle.digest('SHA-256', sample));
        if (equalBytes(d, want)) record(best, 'webcrypto', performance.now() - t0);
      } catch {
        // A WebCrypto that refuses is no candidate.
      }
    }
  }
  measured = {};
  for (const [name, ms] of best) measured[name as HashEngineName] = Math.round(SAMPLE_BYTES / 1e3 / Math.max(ms, 1e-3));
  let fastest: HashEngine = coreEngine;
  for (const e of correct) if ((best.get(e.name) ?? Infinity) < (best.get(fastest.name) ?? Infinity)) fastest = e;
  choiceMade = { engine: fastest, webCrypto: (best.get('webcrypto') ?? Infinity) < (best.get(fastest.name) ?? Infinity) };
  if (!pinned) ({ engine, webCrypto } = choiceMade);
  return hashEngineInfo();
}

function record(best: Map<string, number>, name: string, ms: number): void {
  best.set(name, Math.min(ms, best.get(name) ?? Infinity));
}

/** FIPS 180-4 "abc", then the sample against the core's digest of it. */
function agrees(e: HashEngine, sample: Uint8Array, want: Uint8Array): boolean {
  if (e === coreEngine) return true;
  try {
    const abc = e.createSha256().update(new Uint8Array([0x61, 0x62, 0x63])).digest();
    return equalBytes(abc, ABC) && equalBytes(e.createSha256().update(sample).digest(), want);
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
      update(d);
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

async function loadHashWasm(): Promise<HashEngine | null> {
  try {
    // The SHA-256 bundle only (18 KB), not hash-wasm's index of every algorithm (270 KB).
    const m = await import('hash-wasm/dist/sha256.umd.min.js');
    const create = m.createSHA256 ?? m.default?.createSHA256;
    if (typeof create !== 'function') return null;
    const slot: HashWasmSlot = { hw: await create(), resident: null };
    return {
      name: 'hash-wasm',
      createSha256() {
        const h = new HashWasmSha256(slot);
        return guarded((d) => h.update(d), () => h.digest());
      },
    };
  } catch {
    return null;
  }
}

/** One hash-wasm instance and the hasher whose state is in it now. */
interface HashWasmSlot {
  hw: IHasher;
  resident: HashWasmSha256 | null;
}

/**
 * One instance serves every hasher: using a hasher that is not resident saves
 * the resident's state (hash-wasm's save()) and loads this one's.
 */
class HashWasmSha256 {
  private saved: Uint8Array | null = null;
  constructor(private readonly slot: HashWasmSlot) {}

  private enter(): IHasher {
    const { hw, resident } = this.slot;
    if (resident !== this) {
      if (resident) resident.saved = hw.save();
      if (this.saved) hw.load(this.saved);
      else hw.init();
      this.slot.resident = this;
    }
    return hw;
  }

  update(d: Uint8Array): void {
    this.enter().update(d);
  }

  digest(): Uint8Array {
    const hw = this.enter();
    this.slot.resident = null;
    return hw.digest('binary');
  }
}

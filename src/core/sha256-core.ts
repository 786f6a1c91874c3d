// The SHA-256 engine of the WASM core. The core keeps no per-hasher memory:
// each hasher holds its 112-byte state (chaining value, u64 byte count,
// pending block) in JS, and puts it into the core for the length of one
// update() call, so any number of hashers interleave on one instance and a
// trap that discards the instance loses no hasher's state. The core's SHA-256
// module loads with the hash engines (sha256-wasm.ts); until it has, the same
// rounds run in JS on the same state (sha256-js.ts), with the same digests.
import { sha256Wasm, withSha256, type Sha256Exports } from './sha256-wasm.js';
import { sha256FinalJs, sha256InitialState, sha256UpdateJs } from './sha256-js.js';
import { CorruptError, errorFor } from '../errors.js';
import { toBytes, usedAfterDigest, type Hasher, type HashEngine } from './hasher.js';

/**
 * Bytes copied into the core per call: the copy stays in L2 while the rounds
 * read it, and the call cost (~0.1 µs) is nothing against 64 KiB of rounds.
 */
const CORE_CHUNK = 64 * 1024;
/** Size of a saved state (see assembly/sha256.ts for its layout). */
export const SHA256_STATE_BYTES = 112;

const trap = (e: unknown) =>
  errorFor('IO', `SHA-256 core failed unexpectedly: ${String(e)}`, { detail: 'CORE_TRAP', cause: e });

/** A streaming SHA-256 of the core, whose state can be saved and resumed later (even in another runtime). */
export interface CoreHasher extends Hasher {
  update(data: Uint8Array | string): CoreHasher;
  /** The hasher's state: 112 bytes, as sensitive as the data hashed so far. */
  save(): Uint8Array;
}

const initialState = sha256InitialState();

/** An update this large starts engine selection (in the background, once): it is worth measuring for. */
const LARGE_INPUT = 1 << 20;
let onLargeInput: (() => void) | undefined;
/** Registers what to run, once, on the first update of at least LARGE_INPUT bytes. */
export function onFirstLargeInput(fn: () => void): void {
  onLargeInput = fn;
}

class CoreSha256 implements CoreHasher {
  private readonly state: Uint8Array;
  private done = false;

  constructor(state?: Uint8Array) {
    this.state = (state ?? initialState).slice();
  }

  update(input: Uint8Array | string): CoreHasher {
    if (this.done) throw usedAfterDigest('update');
    const data = toBytes(input);
    if (data.length === 0) return this;
    if (onLargeInput && data.length >= LARGE_INPUT) {
      const start = onLargeInput;
      onLargeInput = undefined;
      start();
    }
    const core = sha256Wasm();
    if (!core) return sha256UpdateJs(this.state, data), this;
    withSha256(core, (c) => {
      const chunk = Math.min(CORE_CHUNK, data.length);
      const ptr = c.reserve(chunk);
      if (ptr === 0) throw new RangeError(`core could not reserve ${chunk} bytes of scratch memory`);
      // Views after reserve(): growing memory detaches older ones.
      const mem = new Uint8Array(c.memory.buffer);
      const st = c.sha256State();
      mem.set(this.state, st);
      for (let off = 0; off < data.length; off += chunk) {
        const n = Math.min(chunk, data.length - off);
        mem.set(n === data.length ? data : data.subarray(off, off + n), ptr);
        c.sha256Update(ptr, n);
      }
      this.state.set(mem.subarray(st, st + SHA256_STATE_BYTES));
    }, trap);
    return this;
  }

  digest(): Uint8Array {
    if (this.done) throw usedAfterDigest('digest');
    this.done = true;
    const core = sha256Wasm();
    return core ? withSha256(core, (c) => finish(c, this.state), trap) : sha256FinalJs(this.state);
  }

  save(): Uint8Array {
    if (this.done) throw usedAfterDigest('save');
    return this.state.slice();
  }
}

function finish(c: Sha256Exports, state: Uint8Array): Uint8Array {
  new Uint8Array(c.memory.buffer, c.sha256State(), SHA256_STATE_BYTES).set(state);
  c.sha256Final();
  return new Uint8Array(c.memory.buffer, c.sha256Digest(), 32).slice();
}

/** Checks a saved state before the core trusts it: the pending count indexes the block buffer. */
function checkState(state: Uint8Array): void {
  if (!(state instanceof Uint8Array) || state.length !== SHA256_STATE_BYTES) {
    throw new CorruptError(
      `saved SHA-256 state must be ${SHA256_STATE_BYTES} bytes from CoreHasher.save(), got ` +
        (state instanceof Uint8Array ? `${state.length} bytes` : typeof state),
      { detail: 'HASH_STATE' },
    );
  }
  const view = new DataView(state.buffer, state.byteOffset, state.length);
  const total = view.getBigUint64(32, true);
  const pending = view.getBigUint64(40, true);
  if (pending >= 64n || total % 64n !== pending) {
    throw new CorruptError(
      `saved SHA-256 state is inconsistent: ${pending} bytes pending of ${total} hashed ` +
        `(pending must be the byte count modulo 64); save it again from a live hasher`,
      { detail: 'HASH_STATE' },
    );
  }
}

/** The WASM core's SHA-256, whose state can be saved and resumed anywhere. */
export interface CoreEngine extends HashEngine {
  readonly name: 'core';
  createSha256(): CoreHasher;
  /** Continues a hash from a state returned by `CoreHasher.save()`. */
  resume(state: Uint8Array): CoreHasher;
}

/** The WASM core's SHA-256: synchronous from the first call; `save()` a hasher's state and `resume()` it later, in any runtime. */
export const coreEngine: CoreEngine = {
  name: 'core',
  createSha256: () => new CoreSha256(),
  resume(state: Uint8Array) {
    checkState(state);
    return new CoreSha256(state);
  },
};

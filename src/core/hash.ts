// SHA-256 and HMAC-SHA256. One streaming shape (update … digest) whatever
// engine computes it; HMAC is built once on top of any engine.
import { scratch, withCore } from './wasm.js';
import { CheckpointError } from '../errors.js';

export type Bytes = Uint8Array;

export interface Hasher {
  update(data: Bytes): Hasher;
  /** The 32-byte digest. The hasher cannot be updated afterwards. */
  digest(): Uint8Array;
}

export interface HashEngine {
  readonly name: string;
  createSha256(): Hasher;
}

/** Bytes copied into the core per call: large enough to amortise the call, small enough to stay in cache. */
const CORE_CHUNK = 1 << 20;

const trap = (e: unknown) =>
  new CheckpointError('IO', `SHA-256 core failed unexpectedly: ${String(e)}`, { detail: 'CORE_TRAP', cause: e });

class CoreSha256 implements Hasher {
  // The core keeps no per-hasher memory: this hasher's 112-byte state is saved
  // here between calls and restored before the next, so hashers interleave freely.
  private state: Uint8Array;
  private done = false;

  constructor() {
    this.state = withCore((c) => {
      c.sha256Init();
      return new Uint8Array(c.memory.buffer, c.sha256State(), c.STATE_BYTES.value as number).slice();
    }, trap);
  }

  update(data: Bytes): Hasher {
    if (this.done) throw new TypeError('sha256: update() after digest()');
    withCore((c) => {
      const stateBytes = this.state.length;
      for (let off = 0; off === 0 || off < data.length; off += CORE_CHUNK) {
        const n = Math.min(CORE_CHUNK, data.length - off);
        const buf = scratch(c, n);
        buf.set(data.subarray(off, off + n));
        new Uint8Array(c.memory.buffer, c.sha256State(), stateBytes).set(this.state);
        c.sha256Update(buf.byteOffset, n);
        this.state.set(new Uint8Array(c.memory.buffer, c.sha256State(), stateBytes));
        if (data.length === 0) break;
      }
    }, trap);
    return this;
  }

  digest(): Uint8Array {
    if (this.done) throw new TypeError('sha256: digest() called twice');
    this.done = true;
    return withCore((c) => {
      new Uint8Array(c.memory.buffer, c.sha256State(), this.state.length).set(this.state);
      c.sha256Final();
      return new Uint8Array(c.memory.buffer, c.sha256Digest(), 32).slice();
    }, trap);
  }
}

export const coreEngine: HashEngine = { name: 'core', createSha256: () => new CoreSha256() };

let engine: HashEngine = coreEngine;

/** The engine `sha256`, `createSha256` and `hmacSha256` use. */
export function hashEngine(): HashEngine {
  return engine;
}

/** Overrides the engine (digests are byte-identical whichever runs). */
export function setHashEngine(e: HashEngine): void {
  engine = e;
}

export function createSha256(): Hasher {
  return engine.createSha256();
}

export function sha256(data: Bytes | string): Uint8Array {
  return createSha256().update(toBytes(data)).digest();
}

const BLOCK = 64;

/** HMAC-SHA256 (RFC 2104) in streaming form, over any engine. */
export function createHmacSha256(key: Bytes | string, e: HashEngine = engine): Hasher {
  let k = toBytes(key);
  if (k.length > BLOCK) k = e.createSha256().update(k).digest();
  const ipad = new Uint8Array(BLOCK).fill(0x36);
  const opad = new Uint8Array(BLOCK).fill(0x5c);
  for (let i = 0; i < k.length; i++) {
    ipad[i] ^= k[i];
    opad[i] ^= k[i];
  }
  const inner = e.createSha256().update(ipad);
  return {
    update(data: Bytes) {
      inner.update(data);
      return this;
    },
    digest() {
      return e.createSha256().update(opad).update(inner.digest()).digest();
    },
  };
}

export function hmacSha256(key: Bytes | string, data: Bytes | string): Uint8Array {
  return createHmacSha256(key).update(toBytes(data)).digest();
}

const encoder = new TextEncoder();
export function toBytes(data: Bytes | string): Uint8Array {
  return typeof data === 'string' ? encoder.encode(data) : data;
}

export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16);
  return s;
}

/** Compares two byte strings in time that depends only on their lengths. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

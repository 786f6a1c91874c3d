// SHA-256 and HMAC-SHA256 in three forms (sync one-shot, async, streaming),
// whatever engine computes them (see hash-engines.ts); HMAC is built once on
// top of any engine.
import { hashEngine, ready, useWebCrypto } from './hash-engines.js';
import { toBytes, type Hasher, type HashEngine } from './hasher.js';

export { toBytes };

export type Bytes = Uint8Array;
/** What the async forms accept: bytes, text (UTF-8), or a stream of byte chunks. */
export type HashInput = Bytes | string | AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>;

/** A streaming SHA-256 hasher (`update()` … `digest()`) on the engine this runtime runs. */
export function createSha256(): Hasher {
  return hashEngine().createSha256();
}

/** SHA-256 of bytes or UTF-8 text, synchronously. */
export function sha256(data: Bytes | string): Uint8Array {
  return createSha256().update(toBytes(data)).digest();
}

/**
 * SHA-256 of bytes, text or a stream. Loads this runtime's engine first (once); in browsers and
 * workerd a whole buffer of ≥ WEBCRYPTO_MIN_BYTES goes to WebCrypto (src/core/hash-engines.ts).
 */
export async function sha256Async(data: HashInput): Promise<Uint8Array> {
  await ready();
  if (typeof data === 'string' || data instanceof Uint8Array) {
    const bytes = toBytes(data);
    if (useWebCrypto(bytes.length) && !isShared(bytes)) {
      return new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
    }
    return sha256(bytes);
  }
  const h = createSha256();
  for await (const chunk of chunks(data)) h.update(chunk);
  return h.digest();
}

/** A streamed SHA-256 whose updates may be asynchronous (see nativeSha256Stream). */
export interface Sha256Sink {
  update(bytes: Uint8Array): Promise<void>;
  digest(): Promise<Uint8Array>;
}

type DigestStreamCtor = new (algorithm: string) => WritableStream<Uint8Array> & { digest: Promise<ArrayBuffer> };

/**
 * A native streaming SHA-256 where the runtime has one the engines cannot use synchronously: Cloudflare's
 * `crypto.DigestStream` (workerd), native code instead of the WASM core. Null elsewhere. The caller must not
 * change a buffer it passed to update() (the stream may hold it until its write is done).
 */
export function nativeSha256Stream(): Sha256Sink | null {
  const DigestStream = (globalThis.crypto as unknown as { DigestStream?: DigestStreamCtor } | undefined)?.DigestStream;
  if (typeof DigestStream !== 'function') return null;
  const ds = new DigestStream('SHA-256');
  const writer = ds.getWriter();
  return {
    update: (bytes) => writer.write(bytes),
    digest: async () => {
      await writer.close();
      return new Uint8Array(await ds.digest);
    },
  };
}

const BLOCK = 64;

/** HMAC-SHA256 (RFC 2104) in streaming form, over any engine. */
export function createHmacSha256(key: Bytes | string, e: HashEngine = hashEngine()): Hasher {
  let k = toBytes(key);
  if (k.length > BLOCK) k = e.createSha256().update(k).digest();
  const ipad = new Uint8Array(BLOCK).fill(0x36);
  const opad = new Uint8Array(BLOCK).fill(0x5c);
  for (let i = 0; i < k.length; i++) {
    ipad[i] ^= k[i];
    opad[i] ^= k[i];
  }
  const inner = e.createSha256().update(ipad);
  const h: Hasher = {
    update(data: Bytes | string) {
      inner.update(toBytes(data));
      return h;
    },
    digest() {
      return e.createSha256().update(opad).update(inner.digest()).digest();
    },
  };
  return h;
}

/** HMAC-SHA256 (RFC 2104) of bytes or UTF-8 text under `key`, synchronously. */
export function hmacSha256(key: Bytes | string, data: Bytes | string): Uint8Array {
  return createHmacSha256(key).update(toBytes(data)).digest();
}

/** HMAC-SHA256 of bytes, text or a stream; like sha256Async, WebCrypto takes whole buffers where it is faster. */
export async function hmacSha256Async(key: Bytes | string, data: HashInput): Promise<Uint8Array> {
  await ready();
  const k = toBytes(key);
  if (typeof data === 'string' || data instanceof Uint8Array) {
    const bytes = toBytes(data);
    if (useWebCrypto(bytes.length) && !isShared(bytes) && !isShared(k)) {
      const subtle = globalThis.crypto.subtle;
      // Chromium refuses an empty key; RFC 2104 pads keys with zeros to the block size, so 64 zeros are the same key.
      const raw = k.length > 0 ? k : new Uint8Array(BLOCK);
      const ck = await subtle.importKey('raw', raw as Uint8Array<ArrayBuffer>, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
      return new Uint8Array(await subtle.sign('HMAC', ck, bytes as Uint8Array<ArrayBuffer>));
    }
    return hmacSha256(k, bytes);
  }
  const h = createHmacSha256(k);
  for await (const chunk of chunks(data)) h.update(chunk);
  return h.digest();
}

/** The chunks of a stream; a ReadableStream is read through its reader (not every runtime iterates one). */
async function* chunks(data: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  if (typeof (data as ReadableStream<Uint8Array>).getReader === 'function') {
    const reader = (data as ReadableStream<Uint8Array>).getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        yield value;
      }
    } finally {
      reader.releaseLock();
    }
  }
  yield* data as AsyncIterable<Uint8Array>;
}

/** WebCrypto refuses views of a SharedArrayBuffer (the casts above rely on this check). */
function isShared(b: Uint8Array): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && b.buffer instanceof SharedArrayBuffer;
}


/** Lowercase hex of `bytes`. */
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

export type { Hasher, HashEngine };

// Chunk digests: the SHA-256 of every `size` bytes of a tensor (a sidecar's `chunks`, src/format/sidecar.ts),
// computed from pieces of any size as they stream past — by the writer, or by a hashing worker from the same
// copies it hashes the tensor from. Its own module: a page that only reads and verifies never loads it.
import { createSha256, sha256, toHex, type Hasher } from './hash.js';

/** Hex SHA-256 of every `size` bytes of a stream from its start (the last may be shorter), fed in pieces of any size. */
export interface ChunkHasher {
  update(piece: Uint8Array): void;
  /** The hex digests, in order; the hasher cannot be used afterwards. */
  result(): string[];
}

/** A ChunkHasher for chunks of `size` bytes (a sidecar's chunk digests: src/format/sidecar.ts). */
export function chunkHasher(size: number): ChunkHasher {
  const out: string[] = [];
  let partial: Hasher | undefined;
  let fill = 0;
  return {
    update(piece) {
      for (let off = 0; off < piece.length; ) {
        if (fill === 0 && piece.length - off >= size) {
          out.push(toHex(sha256(piece.subarray(off, off + size))));
          off += size;
          continue;
        }
        const n = Math.min(size - fill, piece.length - off);
        (partial ??= createSha256()).update(piece.subarray(off, off + n));
        fill += n;
        off += n;
        if (fill === size) {
          out.push(toHex(partial.digest()));
          partial = undefined;
          fill = 0;
        }
      }
    },
    result() {
      if (partial) out.push(toHex(partial.digest()));
      partial = undefined;
      return out;
    },
  };
}

// A byte range of a file or object: what stores read and the pool hashes.

/** Bytes [start, end) of a file or object. */
export interface ByteRange {
  /** First byte, inclusive. */
  start: number;
  /** End, exclusive. */
  end: number;
}

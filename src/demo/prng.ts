// A small seeded PRNG whose whole state is one u32, so it can be saved in
// trainer_state.json and restored exactly (tfjs's global RNG cannot be
// exported, so nothing that must resume exactly may draw from it).
// mulberry32: fast, 2^32 period, good enough for shuffling and initialising.

/** A seeded PRNG (mulberry32) whose whole state is one u32, so it is saved and restored exactly. */
export class Prng {
  private s: number;

  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  /** The state to save; `new Prng(state)` continues the same sequence. */
  get state(): number {
    return this.s;
  }

  /** Next u32. */
  nextU32(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.next() * n);
  }
}

/** Mixes integers into one u32 seed (for per-step, per-site dropout seeds). */
export function mixSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x01000193) >>> 0;
    h = Math.imul(h ^ (h >>> 13), 0x5bd1e995) >>> 0;
    h ^= h >>> 15;
  }
  return h >>> 0;
}

// The WASM boundary stays flat: the host writes inputs into one scratch region
// that starts at __heap_base, and reads fixed exported buffers back. No GC
// objects cross and nothing is ever freed: the runtime is `stub`, and every
// call reuses the same scratch region from its start.

const PAGE: usize = 65536;

/** Start of the scratch region (everything below is static data). */
export function scratchBase(): usize {
  return (__heap_base + 15) & ~(15 as usize);
}

/**
 * Makes sure `bytes` bytes of scratch exist and returns the scratch base, or 0
 * when memory cannot grow that far (the host turns 0 into an error instead of
 * letting a trap escape).
 */
export function reserve(bytes: usize): usize {
  const base = scratchBase();
  if (!ensure(base + bytes)) return 0;
  return base;
}

/** Grows memory so that [0, end) is addressable. False when it cannot. */
export function ensure(end: usize): bool {
  const have = (memory.size() as usize) * PAGE;
  if (end <= have) return true;
  const need = ((end - have + PAGE - 1) / PAGE) as i32;
  return memory.grow(need) >= 0;
}

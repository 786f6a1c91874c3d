// The flat tensor table: the one layout the header parser writes and the shape
// comparer reads, so a parsed header goes back into the core without being
// re-encoded. An "arena" holds variable-length records back to back (8-byte
// aligned); an index of u32 arena-relative offsets lists them in file order.
//
// Record (little-endian, offsets from the record start):
//   0  u32 name offset (arena-relative)      4  u32 name length (UTF-8 bytes, escapes decoded)
//   8  u32 dtype code (DTYPE_ANY = any)      12 u32 ndim
//   16 u32 dims offset (arena-relative u64s) 20 u32 position of the entry's key in the header
//   24 u64 begin, 32 u64 end — data_offsets; the parser turns them into f64 once validated
//   40 u32 offset of the next record (arena-relative)
// followed by the name bytes (padded to 8) and the dims (u64 each).
export const REC_NAME: usize = 0;
export const REC_NAME_LEN: usize = 4;
export const REC_DTYPE: usize = 8;
export const REC_NDIM: usize = 12;
export const REC_DIMS: usize = 16;
export const REC_POS: usize = 20;
export const REC_BEGIN: usize = 24;
export const REC_END: usize = 32;
export const REC_NEXT: usize = 40;
export const REC_BYTES: usize = 48;
/** dtype code of an expected entry that accepts any dtype. */
export const DTYPE_ANY: u32 = 255;

// Name hashing for the duplicate check and the shape comparison. Seeded per
// call by the host so a crafted header cannot aim many names at one bucket.
export function hashName(s: usize, n: usize, seed: u64): u32 {
  let h: u64 = (seed ^ (n as u64)) * 0x9e3779b97f4a7c15;
  while (n >= 8) {
    h = (h ^ load<u64>(s)) * 0xff51afd7ed558ccd;
    h ^= h >> 32;
    s += 8;
    n -= 8;
  }
  let w: u64 = 0;
  for (let i: usize = 0; i < n; i++) w |= (load<u8>(s + i) as u64) << ((i as u64) << 3);
  h = (h ^ w) * 0xc4ceb9fe1a85ec53;
  h ^= h >> 29;
  h *= 0xff51afd7ed558ccd;
  h ^= h >> 32;
  return h as u32;
}

@inline function nameEq(aBase: usize, a: usize, bBase: usize, b: usize): bool {
  const n = load<u32>(a + REC_NAME_LEN);
  if (n != load<u32>(b + REC_NAME_LEN)) return false;
  return memory.compare(aBase + load<u32>(a + REC_NAME), bBase + load<u32>(b + REC_NAME), n) == 0;
}

/** Slots of a name table for `count` names: a power of two, at most half full. */
export function tableSlots(count: u32): u32 {
  let s: u32 = 16;
  while (s < count * 2) s <<= 1;
  return s;
}

/**
 * Builds an open-addressing table (8 bytes per slot: hash, index+1) over the
 * records of `idx`. Returns -1 when every name is distinct, else the index of
 * the first record whose name repeats an earlier one.
 */
export function buildNameTable(table: usize, slots: u32, base: usize, idx: usize, count: u32, seed: u64): i32 {
  memory.fill(table, 0, (slots as usize) << 3);
  const mask = slots - 1;
  for (let i: u32 = 0; i < count; i++) {
    const rec = base + load<u32>(idx + ((i as usize) << 2));
    const h = hashName(base + load<u32>(rec + REC_NAME), load<u32>(rec + REC_NAME_LEN), seed);
    let slot = h & mask;
    while (true) {
      const at = table + ((slot as usize) << 3);
      const e = load<u32>(at, 4);
      if (e == 0) {
        store<u32>(at, h);
        store<u32>(at, i + 1, 4);
        break;
      }
      if (load<u32>(at) == h && nameEq(base, base + load<u32>(idx + ((e - 1 as usize) << 2)), base, rec)) return i as i32;
      slot = (slot + 1) & mask;
    }
  }
  return -1;
}

/** Index of the record in the table built over (base, idx) with the same name as `rec` (in `recBase`), or -1. */
export function findName(table: usize, slots: u32, base: usize, idx: usize, recBase: usize, rec: usize, seed: u64): i32 {
  const h = hashName(recBase + load<u32>(rec + REC_NAME), load<u32>(rec + REC_NAME_LEN), seed);
  const mask = slots - 1;
  let slot = h & mask;
  while (true) {
    const at = table + ((slot as usize) << 3);
    const e = load<u32>(at, 4);
    if (e == 0) return -1;
    if (load<u32>(at) == h && nameEq(base, base + load<u32>(idx + ((e - 1 as usize) << 2)), recBase, rec)) return (e - 1) as i32;
    slot = (slot + 1) & mask;
  }
}

// Compares what a model expects with what a checkpoint holds, both as flat
// tensor tables (table.ts): every missing, unexpected, reshaped and retyped
// tensor in one pass, matched by a hash of the names.
import { ensure } from './memory';
import { REC_DTYPE, REC_NDIM, REC_DIMS, DTYPE_ANY, tableSlots, buildNameTable, findName } from './table';

const K_MISSING: u32 = 1;
const K_UNEXPECTED: u32 = 2;
const K_SHAPE: u32 = 3;
const K_DTYPE: u32 = 4;

function sameShape(aBase: usize, a: usize, bBase: usize, b: usize): bool {
  const n = load<u32>(a + REC_NDIM);
  if (n != load<u32>(b + REC_NDIM)) return false;
  return memory.compare(aBase + load<u32>(a + REC_DIMS), bBase + load<u32>(b + REC_DIMS), (n as usize) << 3) == 0;
}

/**
 * Writes (kind, expected index, actual index) triples of u32 at `out` — kinds
 * 1 missing, 2 unexpected, 3 shape, 4 dtype; 0xffffffff for no index — and
 * returns how many, or -1 when memory cannot grow for the work area.
 */
export function shapesCompare(
  eBase: usize, eIdx: usize, eCount: u32, aBase: usize, aIdx: usize, aCount: u32, out: usize, seed: u32,
): i32 {
  const outBytes = ((eCount as usize) * 2 + (aCount as usize)) * 12;
  const slots = tableSlots(aCount);
  const table = (out + outBytes + 7) & ~(7 as usize);
  const found = table + ((slots as usize) << 3);
  if (!ensure(found + (aCount as usize))) return -1;
  const s: u64 = ((seed as u64) << 32) | (seed as u64) ^ 0x27d4eb2f;
  buildNameTable(table, slots, aBase, aIdx, aCount, s);
  memory.fill(found, 0, aCount as usize);
  let w = out;
  for (let i: u32 = 0; i < eCount; i++) {
    const e = eBase + load<u32>(eIdx + ((i as usize) << 2));
    const j = findName(table, slots, aBase, aIdx, eBase, e, s);
    if (j < 0) {
      store<u32>(w, K_MISSING); store<u32>(w, i, 4); store<u32>(w, 0xffffffff, 8); w += 12;
      continue;
    }
    store<u8>(found + j, 1);
    const a = aBase + load<u32>(aIdx + ((j as usize) << 2));
    if (!sameShape(eBase, e, aBase, a)) {
      store<u32>(w, K_SHAPE); store<u32>(w, i, 4); store<u32>(w, j, 8); w += 12;
    }
    const ed = load<u32>(e + REC_DTYPE);
    if (ed != DTYPE_ANY && ed != load<u32>(a + REC_DTYPE)) {
      store<u32>(w, K_DTYPE); store<u32>(w, i, 4); store<u32>(w, j, 8); w += 12;
    }
  }
  for (let j: u32 = 0; j < aCount; j++) {
    if (load<u8>(found + j) == 0) {
      store<u32>(w, K_UNEXPECTED); store<u32>(w, 0xffffffff, 4); store<u32>(w, j, 8); w += 12;
    }
  }
  return ((w - out) / 12) as i32;
}

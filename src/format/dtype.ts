// The safetensors dtypes, as the reference (Hugging Face safetensors, main at
// 24b0b28) lists them. Sizes are in bits because the sub-byte types (F4, F6_*)
// pack several elements per byte. `order` is the reference writer's enum rank:
// it writes tensors sorted by dtype in DESCENDING order, then by name.
export const DTYPES = {
  BOOL: { bits: 8, order: 0 },
  F4: { bits: 4, order: 1 },
  F6_E2M3: { bits: 6, order: 2 },
  F6_E3M2: { bits: 6, order: 3 },
  U8: { bits: 8, order: 4 },
  I8: { bits: 8, order: 5 },
  F8_E5M2: { bits: 8, order: 6 },
  F8_E4M3: { bits: 8, order: 7 },
  F8_E8M0: { bits: 8, order: 8 },
  F8_E4M3FNUZ: { bits: 8, order: 9 },
  F8_E5M2FNUZ: { bits: 8, order: 10 },
  I16: { bits: 16, order: 11 },
  U16: { bits: 16, order: 12 },
  F16: { bits: 16, order: 13 },
  BF16: { bits: 16, order: 14 },
  I32: { bits: 32, order: 15 },
  U32: { bits: 32, order: 16 },
  F32: { bits: 32, order: 17 },
  C64: { bits: 64, order: 18 },
  F64: { bits: 64, order: 19 },
  I64: { bits: 64, order: 20 },
  U64: { bits: 64, order: 21 },
} as const;

export type Dtype = keyof typeof DTYPES;

export function isDtype(s: string): s is Dtype {
  return Object.prototype.hasOwnProperty.call(DTYPES, s);
}

export function dtypeBits(d: Dtype): number {
  return DTYPES[d].bits;
}

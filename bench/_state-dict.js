// A transformer-like state dict of n tensors, serialised as the reference
// writer lays it out: the header of a large model, for the header and shape
// benchmarks (the data region is never materialised).
const DTYPE_ORDER = ['U64', 'I64', 'F64', 'C64', 'F32', 'U32', 'I32', 'BF16', 'F16', 'U16', 'I16', 'U8', 'BOOL'];
const BITS = { U64: 64, I64: 64, F64: 64, C64: 64, F32: 32, U32: 32, I32: 32, BF16: 16, F16: 16, U16: 16, I16: 16, U8: 8, BOOL: 8 };

/** A transformer-like state dict, serialised as the reference does (dtype desc, then name; compact; space padding). */
export function makeFile(n) {
  const kinds = [['self_attn.q_proj.weight', [4096, 4096]], ['self_attn.k_proj.weight', [1024, 4096]], ['self_attn.v_proj.weight', [1024, 4096]],
    ['self_attn.o_proj.weight', [4096, 4096]], ['mlp.gate_proj.weight', [14336, 4096]], ['mlp.up_proj.weight', [14336, 4096]],
    ['mlp.down_proj.weight', [4096, 14336]], ['input_layernorm.weight', [4096]], ['post_attention_layernorm.weight', [4096]], ['self_attn.q_norm.weight', [128]]];
  const entries = [];
  for (let i = 0; i < n; i++) {
    const [suffix, shape] = kinds[i % kinds.length];
    entries.push({ name: `model.language_model.layers.${Math.floor(i / kinds.length)}.${suffix}`, dtype: shape.length === 1 ? 'F32' : 'BF16', shape });
  }
  entries.sort((a, b) => DTYPE_ORDER.indexOf(a.dtype) - DTYPE_ORDER.indexOf(b.dtype) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const obj = { __metadata__: { format: 'pt' } };
  let off = 0;
  for (const e of entries) {
    const size = e.shape.reduce((a, b) => a * b, 1) * BITS[e.dtype] / 8;
    obj[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [off, off + size] };
    off += size;
  }
  let json = JSON.stringify(obj);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const header = new TextEncoder().encode(json);
  const head = new Uint8Array(8 + header.length);
  new DataView(head.buffer).setBigUint64(0, BigInt(header.length), true);
  head.set(header, 8);
  return { head, fileSize: head.length + off, headerBytes: header.length, entries };
}


// CRC-32 (IEEE 802.3, the zip checksum), slicing-by-8. Zip readers check it on
// request: PyTorch writes it but never checks it (pytorch#126952), so a flipped
// bit in a storage goes unnoticed unless someone looks.

const TABLES: Uint32Array = (() => {
  const t = new Uint32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n];
    for (let k = 1; k < 8; k++) {
      c = t[c & 0xff] ^ (c >>> 8);
      t[k * 256 + n] = c >>> 0;
    }
  }
  return t;
})();

/** Continues a CRC-32 over `data` (start with crc = 0). */
export function crc32(data: Uint8Array, crc = 0): number {
  const t = TABLES;
  let c = ~crc >>> 0;
  let i = 0;
  const n = data.length;
  for (; i + 8 <= n; i += 8) {
    const a = (c ^ (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24))) >>> 0;
    c = t[7 * 256 + (a & 0xff)] ^ t[6 * 256 + ((a >>> 8) & 0xff)] ^ t[5 * 256 + ((a >>> 16) & 0xff)] ^
      t[4 * 256 + (a >>> 24)] ^ t[3 * 256 + data[i + 4]] ^ t[2 * 256 + data[i + 5]] ^
      t[256 + data[i + 6]] ^ t[data[i + 7]];
  }
  for (; i < n; i++) c = t[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/** Inputs at least this large go to hash-wasm's CRC-32 (~3× the JS loop here); smaller ones are not worth a call. */
const WASM_MIN_BYTES = 1 << 16;

interface WasmCrc { init(): unknown; update(d: Uint8Array): unknown; digest(f: 'binary'): Uint8Array }
let wasmCrc: Promise<WasmCrc | null> | null = null;

function loadWasmCrc(): Promise<WasmCrc | null> {
  // Only the CRC-32 bundle of hash-wasm, loaded on first use; if it cannot load, the JS loop serves.
  wasmCrc ??= import('hash-wasm/dist/crc32.umd.min.js')
    .then(async (m: { createCRC32?: () => Promise<WasmCrc>; default?: { createCRC32?: () => Promise<WasmCrc> } }) => {
      const create = m.createCRC32 ?? m.default?.createCRC32;
      return create ? await create() : null;
    })
    .catch(() => null);
  return wasmCrc;
}

/** CRC-32 of `data`, through hash-wasm for large inputs. */
export async function crc32Async(data: Uint8Array): Promise<number> {
  if (data.length < WASM_MIN_BYTES) return crc32(data);
  const w = await loadWasmCrc();
  if (!w) return crc32(data);
  w.init();
  w.update(data);
  const d = w.digest('binary');
  return ((d[0] << 24) | (d[1] << 16) | (d[2] << 8) | d[3]) >>> 0;
}

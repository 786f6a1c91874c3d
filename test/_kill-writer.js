// Child of safetensors-kill.test.js: rewrites one model again and again
// (version 1, 2, …; every byte of every tensor = the version) until killed.
import { writeSafetensors } from '../dist/format/safetensors-write.js';

const [path, key] = process.argv.slice(2);
process.stdout.write('go\n');
for (let v = 1; ; v++) {
  const fill = v & 0xff;
  await writeSafetensors(path, {
    a: { dtype: 'F32', shape: [256, 256], data: new Uint8Array(1 << 18).fill(fill) },
    b: { dtype: 'U8', shape: [4096], data: new Uint8Array(4096).fill(fill) },
  }, { key, metadata: { version: String(v) } });
  process.stdout.write(`wrote ${v}\n`);
}

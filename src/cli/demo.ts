// `safeckpt demo`: the main job on its embedded default.
//
// Until the training-checkpoint demo lands (issue 7), this runs the smaller
// real thing the foundation provides: it hashes an embedded sample through the
// WASM core and checks it against the published FIPS 180-4 digest.
import type { Command } from './commands.js';
import { sha256, toHex, hmacSha256 } from '../core/hash.js';

export const demo: Command = {
  usage: 'demo',
  summary: 'run the main job on an embedded default',
  async run() {
    const sample = 'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq';
    const want = '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1';
    const got = toHex(sha256(sample));
    console.log(`safeckpt demo (foundation): SHA-256 through the WASM core`);
    console.log(`  sample   "${sample}"`);
    console.log(`  sha256   ${got}  ${got === want ? 'matches FIPS 180-4' : 'MISMATCH, expected ' + want}`);
    console.log(`  hmac     ${toHex(hmacSha256('demo-key', sample))}  (key "demo-key")`);
    return got === want ? 0 : 1;
  },
};

// Mutation fuzzing of the torch reader: byte flips, truncations and opcode
// splices of real pickles and zips. Every outcome must be a value or a
// CheckpointError — never another exception, never a hang — and a file that
// reads must give tensors whose bytes() stay inside their storages.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readTorchFile, CheckpointError } from '../dist/index.js';
import { readRepoFile, rng } from './_env.js';
import { torchZip, pickleOf, tensorOp, bytesOf } from './_torchfile.js';

const DIR = 'test/fixtures/reference/torch/';
const SEED = 0x70c4;
/** Enough mutations to reach every opcode handler and zip field many times; 12,000 cases, ~5–8 s per runtime. */
const PER_KIND = 2000;
/** Far beyond any loaded machine's time for these cases, far below forever. */
const HANG_MS = 10 * 60_000;
/** Opcodes the splicer inserts: every one the reader knows, plus some it must refuse. */
const OPCODES = [0x28, 0x2e, 0x30, 0x31, 0x32, 0x4e, 0x88, 0x89, 0x4a, 0x4b, 0x4d, 0x8a, 0x8b, 0x47, 0x58, 0x8c, 0x8d,
  0x42, 0x43, 0x8e, 0x96, 0x5d, 0x29, 0x7d, 0x8f, 0x6c, 0x74, 0x85, 0x86, 0x87, 0x91, 0x64, 0x61, 0x65, 0x73, 0x75, 0x90,
  0x68, 0x6a, 0x71, 0x72, 0x94, 0x63, 0x93, 0x52, 0x81, 0x92, 0x62, 0x51, 0x82, 0x95, 0x97, 0x69, 0x6f, 0x49, 0x46, 0x56,
  0x53, 0x67, 0x70, 0x50, 0xff, 0x00];

let outcomes = { ok: 0, errors: {} };

async function attempt(bytes, label) {
  let file;
  try {
    file = await readTorchFile(bytes, { verifyCrc: (bytes.length & 1) === 0 });
  } catch (e) {
    if (!(e instanceof CheckpointError)) throw new Error(`${label}: escaped as ${e && e.constructor && e.constructor.name}: ${e && e.stack}`);
    outcomes.errors[e.code] = (outcomes.errors[e.code] || 0) + 1;
    return;
  }
  for (const t of file.tensors.values()) {
    const b = t.bytes();
    if (b.length !== t.byteLength) throw new Error(`${label}: ${t.name} bytes() gave ${b.length}, byteLength ${t.byteLength}`);
  }
  outcomes.ok++;
}

function mutate(src, next, pickleRange) {
  const b = src.slice();
  const kind = (next() * 4) | 0;
  const [lo, hi] = pickleRange && next() < 0.7 ? pickleRange : [0, b.length];
  const at = lo + ((next() * (hi - lo)) | 0);
  if (kind === 0) { // flip 1–4 bytes
    for (let i = 0, n = 1 + ((next() * 4) | 0); i < n; i++) b[lo + ((next() * (hi - lo)) | 0)] ^= 1 << ((next() * 8) | 0);
    return b;
  }
  if (kind === 1) return b.subarray(0, at); // truncate
  if (kind === 2) { // random byte values
    b[at] = (next() * 256) | 0;
    return b;
  }
  b[at] = OPCODES[(next() * OPCODES.length) | 0]; // opcode splice
  return b;
}

/** Inserts an opcode inside the pickle and re-zips, so the zip stays valid and the pickle gets the mutation. */
function splicePickle(pickle, next) {
  const at = 2 + ((next() * (pickle.length - 3)) | 0);
  const op = OPCODES[(next() * OPCODES.length) | 0];
  const extra = Array.from({ length: (next() * 5) | 0 }, () => (next() * 256) | 0);
  const out = new Uint8Array(pickle.length + 1 + extra.length);
  out.set(pickle.subarray(0, at));
  out[at] = op;
  out.set(extra, at + 1);
  out.set(pickle.subarray(at), at + 1 + extra.length);
  return out;
}

const FUZZ = suite('readTorch fuzz: only CheckpointErrors, no hang');

FUZZ(`${PER_KIND} mutations of each real file (zip and legacy) and ${PER_KIND} re-zipped spliced pickles`, async () => {
  const started = Date.now();
  const next = rng(SEED);
  const seeds = [];
  for (const stem of ['state_dict_f32', 'dtypes', 'training_checkpoint', 'legacy_nonzip', 'malicious_reduce']) {
    const bytes = await readRepoFile(DIR + stem + '.pt');
    // The pickle sits at the start of both formats: aim most mutations there.
    const end = stem === 'legacy_nonzip' ? 1348 : 64 + (bytes[26] | 0) + 1500;
    seeds.push([stem, bytes, [0, Math.min(end, bytes.length)]]);
  }
  let count = 0;
  for (const [stem, bytes, range] of seeds) {
    for (let i = 0; i < PER_KIND; i++, count++) await attempt(mutate(bytes, next, range), `${stem} #${i}`);
  }
  const pickle = pickleOf({
    w: tensorOp({ key: '0', numel: 6, shape: [2, 3] }),
    v: tensorOp({ key: '0', numel: 6, shape: [3], stride: [2], offset: 1 }),
    cfg: { lr: 0.001, betas: { __tuple__: [0.9, 0.999] }, big: 2n ** 70n, name: 'x', list: [1, [2, [3]]] },
  });
  const storage = bytesOf(new Float32Array([1, 2, 3, 4, 5, 6]));
  for (let i = 0; i < PER_KIND; i++, count++) {
    await attempt(torchZip({ pickle: splicePickle(pickle, next), storages: { 0: storage } }), `splice #${i}`);
  }
  assert.ok(count >= 10000, `ran ${count} cases`);
  assert.ok(outcomes.ok > 0 && Object.keys(outcomes.errors).length >= 3, `outcomes vary: ${JSON.stringify(outcomes)}`);
  // A hang detector, not a speed claim (tests never assert timings; ~5–8 s on a quiet machine, minutes under heavy load).
  assert.ok(Date.now() - started < HANG_MS, `no hang: ${Date.now() - started} ms`);
});

FUZZ.run();

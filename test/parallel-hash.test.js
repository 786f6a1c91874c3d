import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { hashRangesParallel, sha256, toHex, CheckpointError } from '../dist/index.js';
import { rng, randomBytes, runtime } from './_env.js';

const next = rng(2026);
const data = randomBytes(3 << 20, next);
// Ranges as a safetensors file's tensors would give them: contiguous, some empty, sizes around the piece size.
const PIECE = 64 * 1024;
const ranges = [];
for (let off = 0, i = 0; off < data.length; i++) {
  const n = Math.min(data.length - off, [0, 1, PIECE - 1, PIECE, PIECE + 1, 3 * PIECE + 7][i % 6] + Math.floor(next() * 300000));
  ranges.push({ start: off, end: off + n });
  off += n;
}
ranges.push({ start: 10, end: 10 }, { start: 0, end: data.length });
const want = ranges.map(({ start, end }) => toHex(sha256(data.subarray(start, end))));

const P = suite('hashRangesParallel');
P(`hashes every range on 2 workers (${runtime}) like sha256() of the same bytes`, async () => {
  const got = await hashRangesParallel(data, ranges, { workers: 2, pieceBytes: PIECE });
  assert.equal(got.map(toHex), want);
});
P('reads pieces on demand from a reader function', async () => {
  const reads = [];
  const got = await hashRangesParallel((start, end) => { reads.push(end - start); return data.slice(start, end); }, ranges, { workers: 2, pieceBytes: PIECE });
  assert.equal(got.map(toHex), want);
  assert.ok(Math.max(...reads) <= PIECE, 'no read larger than one piece');
});
P('hashes on this thread with workers: 0', async () => {
  const got = await hashRangesParallel(data, ranges, { workers: 0, pieceBytes: PIECE });
  assert.equal(got.map(toHex), want);
});
P('refuses a range outside the source before hashing anything', async () => {
  for (const bad of [{ start: 0, end: data.length + 1 }, { start: 5, end: 4 }, { start: -1, end: 3 }, { start: 0.5, end: 3 }]) {
    try {
      await hashRangesParallel(data, [{ start: 0, end: 1 }, bad], { workers: 2 });
      assert.unreachable();
    } catch (e) {
      assert.instance(e, CheckpointError);
      assert.is(e.code, 'CORRUPT');
      assert.is(e.detail, 'RANGE_OUT_OF_BOUNDS');
      assert.match(e.message, /byte range 1 /);
    }
  }
});
P('refuses a reader that returns the wrong number of bytes', async () => {
  try {
    await hashRangesParallel((start, end) => data.slice(start, end - 1), [{ start: 0, end: 1000 }], { workers: 1 });
    assert.unreachable();
  } catch (e) {
    assert.instance(e, CheckpointError);
    assert.is(e.code, 'CORRUPT');
    assert.is(e.detail, 'SHORT_READ');
    assert.match(e.message, /999 bytes for \[0, 1000\); expected 1000/);
  }
});
P.run();

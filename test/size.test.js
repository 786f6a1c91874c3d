// The read + verify budget (issue #12): what a page that reads and verifies a
// file ships at start, minified by esbuild and gzipped. The target is 32 KB;
// the page is held to what it measured, below it, so nothing grows it
// unnoticed. The hashing worker, the pool and the browser
// stores load only when used. Bytes are deterministic for a build, so these are
// plain comparisons (bench/size.bench.js prints the table in BENCHMARKS.md). Node only.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runtime } from './_env.js';

const S = suite('size: what a page ships');

if (runtime === 'node') {
  const bench = '../bench/size.bench.js'; // computed: not part of the browser bundle of the tests
  const { measure, USES, READ_VERIFY_BUDGET, READ_VERIFY_LIMIT, MAX_START_CHUNKS, EXCESS_LIMIT } = await import(bench);
  const uses = Object.fromEntries(await Promise.all(Object.entries(USES).map(async ([use, source]) => [use, await measure(source)])));
  const rv = uses['read + verify'];

  S(`read + verify loads ≤ ${READ_VERIFY_LIMIT} bytes gzip at start, within the 32 KB target`, () => {
    assert.ok(READ_VERIFY_LIMIT <= READ_VERIFY_BUDGET, `the limit ${READ_VERIFY_LIMIT} is above the target ${READ_VERIFY_BUDGET}`);
    assert.ok(rv.startGzip <= READ_VERIFY_LIMIT, `read + verify ships ${rv.startGzip} bytes gzip at start (limit ${READ_VERIFY_LIMIT})`);
  });
  S(`every use loads its start code as one chunk (at most ${MAX_START_CHUNKS} files: the page's, safeckpt's, esbuild's helper)`, () => {
    // A lazily loaded module that does not import the entry cuts the start code into chunks again (+4 KB gzip for
    // read + verify when there were 14): scripts/check-imports.js requires the hint; this measures the outcome.
    for (const [use, m] of Object.entries(uses)) assert.ok(m.startChunks <= MAX_START_CHUNKS, `${use}: ${m.startChunks} files at start`);
  });
  S('the hashing worker\'s code and the pool load only when workers start', () => {
    const names = rv.lazy.map((c) => c.name);
    assert.ok(names.includes('worker-source') && names.includes('pool'), JSON.stringify(names));
  });
  S('the sharded and checkpoint readers load only when such a source is read', () => {
    const names = rv.lazy.map((c) => c.name);
    assert.ok(names.includes('sharded-read') && names.includes('verify-checkpoint'), JSON.stringify(names));
  });
  S('read + verify pulls no module in at start that only lazily loaded code uses (re-exports of the public entry included)', () => {
    assert.equal(rv.pulledIn, []);
  });
  S('no use ships more code at start that only lazily loaded code uses than measured (bench/size.bench.js EXCESS_LIMIT)', () => {
    for (const [use, m] of Object.entries(uses)) {
      const total = m.excess.reduce((a, e) => a + e.start - e.eager, 0);
      assert.ok(total <= EXCESS_LIMIT[use], `${use}: ${total} bytes (limit ${EXCESS_LIMIT[use]}): ${m.excess.map((e) => `${e.module} ${e.start - e.eager}`).join(', ')}`);
    }
  });
  S("the core's SHA-256 module loads with the hash engines, not at start (the header parser does)", () => {
    assert.ok(rv.lazy.some((c) => c.name === 'sha256-wasm-bytes'), JSON.stringify(rv.lazy.map((c) => c.name)));
  });
  S('the browser stores (opfs:, idb:) load only when used', () => {
    const names = rv.lazy.map((c) => c.name);
    assert.ok(names.includes('opfs-backend') && names.includes('idb-backend'), JSON.stringify(names));
  });
}

S.run();

// The public entry is what users call: every export documented where it is declared, tuning constants,
// key helpers and engine pinning only in the internal entry (dist/internal.js, which package.json does
// not export), the demo kit only in safeckpt/demo.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as pub from '../dist/index.js';
import * as internal from '../dist/internal.js';
import * as demo from '../dist/demo/index.js';
import { runtime, readRepoJson } from './_env.js';

const INTERNAL_ONLY = [
  'READ_SEGMENT', 'COALESCE_GAP', 'IDB_CHUNK', 'WRITE_CHUNK', 'SHA256_STATE_BYTES', 'WEBCRYPTO_MIN_BYTES', 'dirOf', 'baseOf', 'joinKey',
  'isTempKey', 'writeAtomic', 'errorFor', 'setHashEngine', 'availableHashEngines', 'hashEngine', 'constantTimeEqual', 'loggerFrom',
  'scanTensors', 'detectSource', 'safetensorsLayout', 'DEFAULT_MODEL_KEY',
];
const DEMO = ['TinyLM', 'TINY_LM_DEFAULTS', 'TrainLoop', 'trainStep', 'TextSampler', 'CORPUS', 'charVocab', 'encode', 'decode', 'Prng', 'mixSeed', 'qwenToTinyLMConfig'];

const P = suite('public entry');
P('tuning constants, key helpers and engine pinning are internal; the demo kit is safeckpt/demo', () => {
  for (const n of INTERNAL_ONLY) {
    assert.not.ok(n in pub, `${n} is not public`);
    assert.ok(n in internal, `${n} is in the internal entry`);
  }
  for (const n of DEMO) {
    assert.not.ok(n in pub, `${n} is not in the main entry`);
    assert.ok(n in demo, `${n} is in safeckpt/demo`);
  }
  for (const n of Object.keys(pub)) assert.is(internal[n], pub[n], `the internal entry re-exports ${n}`);
});
P('package.json exports the main entry and safeckpt/demo, not the internal one', async () => {
  const pkg = await readRepoJson('package.json');
  assert.equal(Object.keys(pkg.exports).sort(), ['.', './demo', './package.json']);
  assert.is(pkg.exports['./demo'].default, './dist/demo/index.js');
});
if (runtime === 'node') {
  P('every export of safeckpt and safeckpt/demo has a doc comment (scripts/check-docs.js)', async () => {
    const { spawnSync } = await import('node:child_process');
    const { fileURLToPath } = await import('node:url');
    const r = spawnSync(process.execPath, [fileURLToPath(new URL('../scripts/check-docs.js', import.meta.url))], { encoding: 'utf8' });
    assert.is(r.status, 0, r.stderr);
  });
}

P.run();

// Errors: `code` is the contract, and each code has one class — the subclass of its family — wherever it
// is thrown, so `instanceof AuthError` catches every AUTH (HMAC_MISSING included) and `instanceof
// CompatibilityError` every shape, dtype and architecture mismatch.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  errorFor, ERROR_CODES, CheckpointError, NotFoundError, CorruptError, IntegrityError, AuthError, CompatibilityError,
  UnsafePickleError, UnsupportedError, IoError, MemoryStore, writeSafetensors, readSafetensors, verify,
} from '../dist/internal.js';
import { runtime } from './_env.js';

const FAMILY = {
  NOT_FOUND: NotFoundError, CORRUPT: CorruptError, INTEGRITY: IntegrityError, AUTH: AuthError,
  SHAPE_MISMATCH: CompatibilityError, DTYPE_MISMATCH: CompatibilityError, ARCH_MISMATCH: CompatibilityError,
  UNSAFE_PICKLE: UnsafePickleError, UNSUPPORTED: UnsupportedError, IO: IoError,
};

const E = suite('errors: one class per code');
E('errorFor gives every code its family subclass, with code, detail and cause kept', () => {
  assert.equal([...ERROR_CODES].sort(), Object.keys(FAMILY).sort());
  const cause = new Error('under');
  for (const code of ERROR_CODES) {
    const e = errorFor(code, `m ${code}`, { detail: 'D', path: 'p', cause });
    assert.instance(e, FAMILY[code], code);
    assert.instance(e, CheckpointError, code);
    assert.equal([e.code, e.message, e.detail, e.path, e.cause, e.name], [code, `m ${code}`, 'D', 'p', cause, FAMILY[code].name]);
  }
});
E('AUTH for a missing HMAC is an AuthError (a file read with a key but no sidecar; a sharded model without its index sidecar)', async () => {
  const store = new MemoryStore();
  await writeSafetensors({ store, key: 'm.safetensors' }, { w: { dtype: 'U8', shape: [2], data: Uint8Array.of(1, 2) } });
  await store.remove('m.safetensors.meta.json');
  for (const op of [readSafetensors, verify]) {
    const e = await op({ store, key: 'm.safetensors' }, { key: 'k' }).catch((x) => x);
    assert.instance(e, AuthError, op.name);
    assert.equal([e.code, e.detail], ['AUTH', 'HMAC_MISSING']);
  }
  await writeSafetensors({ store, key: 's/model.safetensors' }, { a: { dtype: 'U8', shape: [100], data: new Uint8Array(100) }, b: { dtype: 'U8', shape: [100], data: new Uint8Array(100) } }, { maxShardSize: 100, key: 'k' });
  await store.remove('s/model.safetensors.index.json.meta.json');
  const e = await readSafetensors({ store, key: 's' }, { key: 'k' }).catch((x) => x);
  assert.instance(e, AuthError);
});
if (runtime === 'node') {
  E('no throw site in src/ builds the base class: each uses its subclass or errorFor', async () => {
    const fs = await import('node:fs/promises');
    const { fileURLToPath } = await import('node:url');
    const src = fileURLToPath(new URL('../src', import.meta.url));
    const offenders = [];
    for (const f of await fs.readdir(src, { recursive: true })) {
      if (!f.endsWith('.ts') || f === 'errors.ts') continue;
      const text = await fs.readFile(`${src}/${f}`, 'utf8');
      text.split('\n').forEach((l, i) => { if (/new CheckpointError\(/.test(l)) offenders.push(`src/${f}:${i + 1}`); });
    }
    assert.equal(offenders, [], `use the subclass (or errorFor(code, …)) at ${offenders.join(', ')}`);
  });
}

E.run();

// Where checkpoint tests write: a temporary folder in Node/Deno/Bun, a fresh
// OPFS folder in Chromium, a `memory:` folder in workerd (the stores each
// runtime really uses), and helpers to tamper with files in any of them.
import { resolveSource, joinKey } from '../dist/internal.js';
import { isBrowser, runtime, tempDir } from './_env.js';

let n = 0;
/** A fresh, empty checkpoint root: a path (Node, Deno, Bun), an `opfs:` name (Chromium) or a `memory:` one (workerd). */
export async function freshRoot(tag = 'ckpt') {
  const unique = `${tag}-${Date.now().toString(36)}-${n++}-${Math.random().toString(36).slice(2, 8)}`;
  if (isBrowser) return `opfs:safeckpt-test/${unique}`;
  if (runtime === 'workerd') return `memory:safeckpt-test/${unique}`;
  return tempDir(`safeckpt-${tag}-`);
}

/** The store and key of a root (to read and damage files through the same backend). */
export function storeOf(root) {
  return resolveSource(root);
}

export async function readFile(root, rel) {
  const { store, key } = storeOf(root);
  return store.read(joinKey(key, rel));
}

export async function writeFile(root, rel, bytes) {
  const { store, key } = storeOf(root);
  await store.write(joinKey(key, rel), bytes);
}

export async function removeFile(root, rel) {
  const { store, key } = storeOf(root);
  await store.remove(joinKey(key, rel));
}

export async function listNames(root, rel = '') {
  const { store, key } = storeOf(root);
  return (await store.list(rel ? joinKey(key, rel) : key)).map((e) => e.key.slice(e.key.lastIndexOf('/') + 1)).sort();
}

/** A logger that keeps what it is told (to assert on warnings). */
export function recordingLogger() {
  const records = [];
  const at = (level) => (msg, fields) => records.push({ level, msg, fields });
  return { records, debug: at('DEBUG'), info: at('INFO'), warn: at('WARN'), error: at('ERROR'), critical: at('CRITICAL') };
}

export async function expectError(p, code) {
  try {
    await p;
  } catch (e) {
    if (e?.code !== code) throw new Error(`expected ${code}, got ${e?.code}: ${e?.message}`);
    return e;
  }
  throw new Error(`expected ${code}, but it succeeded`);
}

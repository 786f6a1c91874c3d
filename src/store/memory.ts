// A store in memory: for Uint8Array sources, tests, and `memory:` names that
// outlive one call. Values are copied in on write and handed out as views on
// read (zero copy), so a reader sees exactly what was written.
import { IoError, NotFoundError } from '../errors.js';
import type { ByteRange, Store, StoreEntry, VersionedValue, WriteCondition } from './store.js';
import { checkKey, checkRange, collect } from './keys.js';

/** Files in memory: the reference Store, and a fast one for tests. */
export class MemoryStore implements Store {
  readonly kind = 'memory';
  readonly readOnly = false;
  private readonly files = new Map<string, Uint8Array>();
  /** Version of each key for compare-and-swap: bumped by every write, so equal bytes written twice differ. */
  private readonly versions = new Map<string, number>();
  private version = 0;

  constructor(initial?: Record<string, Uint8Array>) {
    if (initial) for (const [k, v] of Object.entries(initial)) this.files.set(checkKey(k, 'memory store'), v);
  }

  describe(key: string): string {
    return `memory:${key}`;
  }

  private get(key: string): Uint8Array {
    const v = this.files.get(key);
    if (!v) throw new NotFoundError(`${this.describe(key)} does not exist`, { path: this.describe(key) });
    return v;
  }

  async size(key: string): Promise<number> {
    return this.get(key).length;
  }

  async read(key: string, range?: ByteRange): Promise<Uint8Array> {
    const v = this.get(key);
    if (!range) return v;
    checkRange(range, v.length, this.describe(key));
    return v.subarray(range.start, range.end);
  }

  async write(key: string, data: Uint8Array | AsyncIterable<Uint8Array>): Promise<void> {
    checkKey(key, 'memory store');
    const bytes = await collect(data);
    this.files.set(key, bytes);
    this.versions.set(key, ++this.version);
  }

  async readVersioned(key: string): Promise<VersionedValue | null> {
    const bytes = this.files.get(key);
    return bytes ? { bytes, version: String(this.versions.get(key) ?? 0) } : null;
  }

  /** Compare-and-swap: one JS thread owns the map, so the check and the write cannot interleave with another writer. */
  async writeIf(key: string, data: Uint8Array, cond: WriteCondition): Promise<string> {
    checkKey(key, 'memory store');
    const current = this.files.has(key) ? String(this.versions.get(key) ?? 0) : null;
    if (current !== cond.ifVersion) {
      throw new IoError(`${this.describe(key)} changed since it was read (expected ${cond.ifVersion === null ? 'no value' : 'version ' + cond.ifVersion}, found ${current === null ? 'none' : 'version ' + current}): another writer got there first`, {
        path: this.describe(key), detail: 'PRECONDITION_FAILED',
      });
    }
    this.files.set(key, data.slice());
    this.versions.set(key, ++this.version);
    return String(this.version);
  }

  async list(prefix: string): Promise<StoreEntry[]> {
    const base = prefix === '' ? '' : prefix.replace(/\/$/, '') + '/';
    const out = new Map<string, StoreEntry>();
    for (const [k, v] of this.files) {
      if (!k.startsWith(base)) continue;
      const rest = k.slice(base.length);
      const slash = rest.indexOf('/');
      if (slash < 0) out.set(k, { key: k, size: v.length, isDirectory: false });
      else {
        const dir = base + rest.slice(0, slash);
        if (!out.has(dir)) out.set(dir, { key: dir, size: 0, isDirectory: true });
      }
    }
    return [...out.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async exists(key: string): Promise<boolean> {
    if (this.files.has(key)) return true;
    const base = key.replace(/\/$/, '') + '/';
    for (const k of this.files.keys()) if (k.startsWith(base)) return true;
    return false;
  }

  async rename(from: string, to: string): Promise<void> {
    checkKey(to, 'memory store');
    if (this.files.has(from)) {
      this.files.set(to, this.get(from));
      this.files.delete(from);
      return;
    }
    const base = from.replace(/\/$/, '') + '/';
    const moves = [...this.files.keys()].filter((k) => k.startsWith(base));
    if (moves.length === 0) this.get(from);
    // A folder rename replaces the destination folder as a whole, like rename(2) of an empty target.
    await this.remove(to);
    for (const k of moves) {
      this.files.set(to + '/' + k.slice(base.length), this.files.get(k)!);
      this.files.delete(k);
    }
  }

  async remove(key: string): Promise<void> {
    this.files.delete(key);
    const base = key === '' ? '' : key.replace(/\/$/, '') + '/';
    for (const k of [...this.files.keys()]) if (k.startsWith(base)) this.files.delete(k);
  }

  async sync(): Promise<void> {
    // Nothing to make durable: memory is as durable as it gets.
  }
}

let shared: MemoryStore | undefined;

/** The process-wide store behind `memory:` names. */
export function sharedMemoryStore(): MemoryStore {
  return (shared ??= new MemoryStore());
}

// A store that dies at a chosen operation, as a process killed there would.
// Every call to the store is one operation, numbered from 0 (exists, size,
// read, write, list, rename, remove, sync, …). At operation `at` it dies:
// before the operation, or — with `mid` on a write — half-way through it (the
// first half of the bytes reach the store, the rest never do). From then on
// every call fails without touching the inner store: a dead process does
// nothing more, not even the cleanup in its catch blocks. `onDie` decides what
// dying is: in a child process, SIGKILL itself; in a test, throw.
export class Died extends Error {
  constructor(op) {
    super(`store died at operation ${op.i} (${op.op} ${op.key}${op.mid ? ', half-way' : ''})`);
    this.name = 'Died';
  }
}

const OPS = ['size', 'read', 'write', 'list', 'exists', 'rename', 'remove', 'sync'];

export class FaultStore {
  /** @param {object} inner  @param {{ at?: number, mid?: boolean, onDie?: (op) => void }} opts */
  constructor(inner, { at = Infinity, mid = false, onDie } = {}) {
    this.inner = inner;
    this.kind = inner.kind;
    this.readOnly = inner.readOnly;
    this.at = at;
    this.mid = mid;
    this.onDie = onDie ?? ((op) => { throw new Died(op); });
    this.dead = false;
    /** Every operation asked for: { i, op, key, size? } (size: bytes of a write). */
    this.trace = [];
    for (const op of OPS) this[op] = (...args) => this.call(op, args);
    // A cross-process lock is two operations, taking it and releasing it: a death between them leaves it held.
    if (inner.lock) {
      this.lock = async (key) => {
        const release = await this.call('lock', [key]);
        return () => this.call('unlock', [key], release);
      };
    }
  }

  describe(key) {
    return this.inner.describe(key);
  }

  async call(op, args, release) {
    if (this.dead) throw new Died({ i: this.trace.length, op, key: String(args[0]) });
    const rec = { i: this.trace.length, op, key: String(args[0]) };
    this.trace.push(rec);
    if (rec.i === this.at) {
      if (this.mid && op === 'write') {
        const bytes = await collect(args[1]);
        rec.size = bytes.length;
        await this.inner.write(args[0], bytes.subarray(0, bytes.length >> 1));
        rec.mid = true;
      }
      this.dead = true;
      this.onDie(rec);
      throw new Died(rec);
    }
    if (op === 'write' && !(args[1] instanceof Uint8Array)) {
      // Streams are counted as they pass, so a trace records every write's size.
      let n = 0;
      const src = args[1];
      const counted = (async function* () { for await (const c of src) { n += c.length; yield c; } })();
      await this.inner.write(args[0], counted);
      rec.size = n;
      return;
    }
    if (op === 'write') rec.size = args[1].length;
    if (op === 'unlock') return release();
    return this.inner[op](...args);
  }
}

async function collect(data) {
  if (data instanceof Uint8Array) return data;
  const parts = [];
  for await (const c of data) parts.push(c.slice());
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** The kill points of a traced run: before every operation, and half-way through every write. */
export function killPoints(trace) {
  const out = [];
  for (const r of trace) {
    out.push({ at: r.i, mid: false, op: r.op, key: r.key });
    if (r.op === 'write' && r.size > 0) out.push({ at: r.i, mid: true, op: r.op, key: r.key });
  }
  return out;
}

// A symbolic unpickler. It never calls anything: GLOBAL and STACK_GLOBAL become
// names that a fixed table (the Resolver, see rebuild.ts) either knows or
// refuses; REDUCE, NEWOBJ and BUILD become requests to that table, which builds
// plain values. The opcode set is closed (protocols 0–5), every container
// operation checks its target's type (CVE-2026-24747 was SETITEM on a
// non-dict), and every quantity an attacker controls is capped.
//
// A refused global does not stop the machine at once: it leaves a poison value
// and interpretation continues (still purely symbolic), so that the error can
// name every refused global in the file, as torch's
// get_unsafe_globals_in_checkpoint does. Nothing is ever executed either way.
import { CheckpointError, CorruptError, UnsafePickleError, UnsupportedError } from '../../errors.js';

/** Caps on what a pickle may build (ops, depth, containers, bytes): a hostile .pt fails typed, within bounds. */
export interface PickleLimits {
  /** Bytes of one pickle. */
  pickleBytes: number;
  /** Items on the stack at once. */
  stack: number;
  /** MARKs open at once. */
  marks: number;
  /** Memo entries. */
  memo: number;
  /** Bytes of one string, bytes object or integer. */
  stringBytes: number;
  /** Values created. */
  objects: number;
  /** Containers nested in containers. */
  nesting: number;
  /** Tensor paths in the value (a tensor held by two containers counts twice). */
  tensors: number;
}

/** The pickle caps readTorch applies unless told otherwise (`limits`). */
export const DEFAULT_LIMITS: Readonly<PickleLimits> = {
  // A pickle describes structure, not data: torch's for a 100k-tensor model is ~15 MB.
  pickleBytes: 256 * 1024 * 1024,
  // Python's pickler batches APPENDS/SETITEMS by 1,000, so real stacks stay in the thousands.
  stack: 1_000_000,
  // Real pickles nest MARKs as deeply as their data nests: a few levels.
  marks: 1000,
  // torch memoizes ~8 objects per tensor: 4M covers 500k tensors.
  memo: 4 * 1024 * 1024,
  // Names, config strings and small blobs live in the pickle; tensor data lives in storages.
  stringBytes: 64 * 1024 * 1024,
  // At most one value per opcode byte: more than a maximal pickle could legitimately make.
  objects: 50_000_000,
  // Deeper structures overflow the JS call stack of every consumer; real checkpoints nest < 20.
  nesting: 1000,
  // 10× the tensors of the largest real checkpoints; 5M references to one tensor are a bomb, not a model.
  tensors: 1_000_000,
};

// ------------------------------------------------------------------ values

/** A Python list (mutable: APPEND/APPENDS). */
export class PyList { constructor(readonly items: PyAny[] = []) {} }
/** A Python tuple. */
export class PyTuple { constructor(readonly items: readonly PyAny[]) {} }
/** A Python set or frozenset. */
export class PySet { constructor(readonly items: PyAny[], readonly frozen: boolean) {} }
/** A Python dict or dict subclass (`cls`), with instance attributes set by BUILD (e.g. a state dict's `_metadata`). */
export class PyDict {
  readonly keys: PyAny[] = [];
  readonly values: PyAny[] = [];
  private readonly index = new Map<string, number>();
  attrs: Map<string, PyAny> | null = null;
  constructor(readonly cls = 'builtins.dict') {}
  set(k: PyAny, v: PyAny, at: number): void {
    const id = keyId(k, at);
    const i = this.index.get(id);
    if (i === undefined) {
      this.index.set(id, this.keys.length);
      this.keys.push(k);
      this.values.push(v);
    } else {
      this.values[i] = v;
    }
  }
  get(k: string): PyAny | undefined {
    const i = this.index.get('s' + k);
    return i === undefined ? undefined : this.values[i];
  }
  get size(): number { return this.keys.length; }
}
/** A name a GLOBAL resolved to in the fixed table. It is only ever a name. */
export class PyGlobal { constructor(readonly module: string, readonly name: string) {} get qualname() { return `${this.module}.${this.name}`; } }
/** An instance of an allowed plain-data class (e.g. argparse.Namespace), built field by field. */
export class PyObject { readonly fields = new Map<string, PyAny>(); constructor(readonly cls: string) {} }
/** Left where a refused global was used; anything done with it yields poison again. */
export class Poison { constructor(readonly refused: Refusal) {} }

/** Anything on the stack. Objects made by the resolver (tensors, storages) are opaque here. */
export type PyAny = null | boolean | number | bigint | string | Uint8Array | PyList | PyTuple | PySet | PyDict | PyGlobal | PyObject | Poison | object;

export interface Refusal {
  module: string;
  name: string;
  opcode: string;
  position: number;
  /** 'unsafe' → UNSAFE_PICKLE; 'unsupported' → a known torch global this build does not interpret. */
  kind: 'unsafe' | 'unsupported';
  reason?: string;
}

/** The fixed table the machine consults. It never executes anything either. */
export interface Resolver {
  /** What `module.name` denotes (a PyGlobal or a plain value), or why it is refused. */
  global(module: string, name: string): PyAny | { refuse: 'unsafe' | 'unsupported'; reason?: string };
  /** REDUCE (and INST/OBJ): `fn(*args)`. */
  call(fn: PyGlobal, args: readonly PyAny[], at: number): PyAny;
  /** NEWOBJ: `cls.__new__(cls, *args)`. */
  newobj(cls: PyGlobal, args: readonly PyAny[], at: number): PyAny;
  /** BUILD: sets `state` on `target`; false when target accepts no state. */
  build(target: PyAny, state: PyAny, at: number): boolean;
  /** BINPERSID / PERSID. */
  persistent(pid: PyAny, at: number): PyAny;
}

export interface UnpickleOptions {
  /** For messages: which pickle this is, e.g. `model.pt:archive/data.pkl`. */
  name: string;
  /** Where to start in `bytes` (legacy files hold several pickles back to back). */
  start?: number;
  limits?: Partial<PickleLimits>;
}

export interface UnpickleResult {
  value: PyAny;
  /** Offset just past STOP. */
  end: number;
  protocol: number;
}

// ------------------------------------------------------------------ machine

const utf8 = new TextDecoder('utf-8', { fatal: true });
const latin1 = new TextDecoder('latin1');

/** Python 2 module names Python 3's unpickler maps (fix_imports), so refusals name what Python would import. */
const PY2_MODULES: Record<string, string> = { __builtin__: 'builtins', copy_reg: 'copyreg' };

export function unpickle(bytes: Uint8Array, resolver: Resolver, opts: UnpickleOptions): UnpickleResult {
  const lim: PickleLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const name = opts.name;
  const start = opts.start ?? 0;
  const refused: Refusal[] = [];
  resetKeys();
  try {
    return run(bytes, start, resolver, lim, name, refused);
  } catch (e) {
    // A refusal outranks whatever went wrong after it: the file is unsafe, and
    // the error must say which globals made it so.
    if (refused.length > 0 && !(e instanceof CheckpointError && e.detail === 'REFUSED_GLOBAL')) throw refusalError(refused, name, e);
    throw e;
  } finally {
    resetKeys();
  }
}

function refusalError(refused: Refusal[], name: string, cause?: unknown): CheckpointError {
  const unsafe = refused.filter((r) => r.kind === 'unsafe');
  const seen = new Set<string>();
  const list = (unsafe.length ? unsafe : refused).filter((r) => {
    const k = `${r.module}.${r.name}`;
    return seen.has(k) ? false : (seen.add(k), true);
  });
  const data = { globals: list.map((r) => ({ module: r.module, name: r.name, qualname: `${r.module}.${r.name}`, opcode: r.opcode, position: r.position })) };
  const first = list[0];
  const what = list.map((r) => `${r.module}.${r.name} (module '${r.module}', name '${r.name}', ${r.opcode} at byte ${r.position})`).join('; ');
  if (unsafe.length) {
    return new UnsafePickleError(
      `${name}: refused global${list.length > 1 ? 's' : ''} ${what}; nothing was executed. ` +
        'Only torch tensor/storage rebuilds, dtypes and plain containers are interpreted. ' +
        'If you trust this file, load it in Python and re-save its tensors (torch.save(model.state_dict()) or safetensors).',
      { path: name, position: first.position, detail: 'REFUSED_GLOBAL', data, cause },
    );
  }
  return new UnsupportedError(
    `${name}: ${what}: ${first.reason ?? 'not supported'}`,
    { path: name, position: first.position, detail: 'UNSUPPORTED_GLOBAL', data, cause },
  );
}

function run(bytes: Uint8Array, start: number, resolver: Resolver, lim: PickleLimits, name: string, refused: Refusal[]): UnpickleResult {
  const n = bytes.length;
  if (n - start > lim.pickleBytes) {
    throw new CorruptError(`${name}: pickle of ${n - start} bytes exceeds the limit of ${lim.pickleBytes} (a guard against pickle bombs)`, { path: name, detail: 'PICKLE_LIMIT' });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: PyAny[] = [];
  const marks: number[] = [];
  const memo = new Map<number, PyAny>();
  let objects = 0;
  let protocol = 0;
  let pos = start;
  let at = start;

  const corrupt = (msg: string, detail = 'PICKLE') =>
    new CorruptError(`${name}: ${msg} (opcode at byte ${at})`, { path: name, position: at, detail });
  const need = (k: number) => {
    if (pos + k > n) throw corrupt(`pickle ends inside an opcode (needs ${k} more bytes, has ${n - pos}); the file is truncated`, 'TRUNCATED');
  };
  const push = (v: PyAny) => {
    if (stack.length >= lim.stack) throw corrupt(`stack exceeds the limit of ${lim.stack} items (a guard against pickle bombs)`, 'STACK_LIMIT');
    if (++objects > lim.objects) throw corrupt(`pickle creates more than ${lim.objects} values (a guard against pickle bombs)`, 'OBJECT_LIMIT');
    stack.push(v);
  };
  const pop = (): PyAny => {
    if (stack.length === 0 || (marks.length > 0 && stack.length <= marks[marks.length - 1])) throw corrupt('stack underflow');
    return stack.pop() as PyAny;
  };
  const top = (): PyAny => {
    if (stack.length === 0 || (marks.length > 0 && stack.length <= marks[marks.length - 1])) throw corrupt('stack underflow');
    return stack[stack.length - 1];
  };
  const popMark = (): PyAny[] => {
    const m = marks.pop();
    if (m === undefined) throw corrupt('no MARK to pop to');
    return stack.splice(m);
  };
  const u8 = () => { need(1); return bytes[pos++]; };
  const u16 = () => { need(2); const v = view.getUint16(pos, true); pos += 2; return v; };
  const u32 = () => { need(4); const v = view.getUint32(pos, true); pos += 4; return v; };
  const i32 = () => { need(4); const v = view.getInt32(pos, true); pos += 4; return v; };
  const u64 = () => {
    need(8);
    const lo = view.getUint32(pos, true), hi = view.getUint32(pos + 4, true);
    pos += 8;
    return hi > 0x1fffff ? Infinity : hi * 0x100000000 + lo;
  };
  const take = (len: number, what: string): Uint8Array => {
    if (len > lim.stringBytes) throw corrupt(`${what} of ${len} bytes exceeds the limit of ${lim.stringBytes} (a guard against pickle bombs)`, 'STRING_LIMIT');
    if (pos + len > n) throw corrupt(`${what} of ${len} bytes runs past the end of the pickle (${n - pos} bytes left); the file is truncated or garbled`, 'TRUNCATED');
    const b = bytes.subarray(pos, pos + len);
    pos += len;
    return b;
  };
  const line = (what: string): string => {
    const stop = Math.min(n, pos + lim.stringBytes + 1);
    let e = pos;
    while (e < stop && bytes[e] !== 0x0a) e++;
    if (e >= stop) throw corrupt(`${what}: no end of line`, e >= n ? 'TRUNCATED' : 'STRING_LIMIT');
    const s = latin1.decode(bytes.subarray(pos, e));
    pos = e + 1;
    return s;
  };
  const text = (b: Uint8Array, what: string): string => {
    try { return utf8.decode(b); } catch { throw corrupt(`${what} is not valid UTF-8`); }
  };
  const memoPut = (idx: number) => {
    if (!memo.has(idx) && memo.size >= lim.memo) throw corrupt(`memo exceeds the limit of ${lim.memo} entries (a guard against pickle bombs)`, 'MEMO_LIMIT');
    memo.set(idx, top());
  };
  const memoGet = (idx: number) => {
    if (!memo.has(idx)) throw corrupt(`memo entry ${idx} is read before it is written`);
    if (stack.length >= lim.stack) throw corrupt(`stack exceeds the limit of ${lim.stack} items (a guard against pickle bombs)`, 'STACK_LIMIT');
    stack.push(memo.get(idx) as PyAny);
  };
  const global = (module: string, gname: string, opcode: string) => {
    module = PY2_MODULES[module] ?? module;
    const r = resolver.global(module, gname);
    if (r && typeof r === 'object' && 'refuse' in r) {
      const refusal: Refusal = { module, name: gname, opcode, position: at, kind: r.refuse, reason: r.reason };
      refused.push(refusal);
      return new Poison(refusal);
    }
    return r as PyAny;
  };
  const int = (v: bigint): number | bigint => (v >= -(2n ** 53n) && v <= 2n ** 53n ? Number(v) : v);
  const long = (b: Uint8Array): number | bigint => {
    if (b.length === 0) return 0;
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
    return int(v);
  };
  const decimal = (s: string, what: string): number | bigint => {
    const t = s.trim();
    if (!/^[-+]?\d+$/.test(t)) throw corrupt(`${what} '${t.slice(0, 40)}' is not an integer`);
    return int(BigInt(t));
  };
  const index = (s: string) => {
    const v = decimal(s, 'memo index');
    if (typeof v !== 'number' || v < 0) throw corrupt(`memo index ${s} is out of range`);
    return v;
  };
  const call = (fn: PyAny, args: PyAny, op: string): PyAny => {
    if (fn instanceof Poison) return fn;
    if (!(args instanceof PyTuple)) throw corrupt(`${op} arguments are a ${typeName(args)}, not a tuple`);
    for (const a of args.items) if (a instanceof Poison) return a;
    if (!(fn instanceof PyGlobal)) {
      throw new UnsafePickleError(`${name}: ${op} applied to a ${typeName(fn)} at byte ${at}: only functions from the fixed table can be applied; nothing was executed`, { path: name, position: at, detail: 'CALL_TARGET' });
    }
    return op === 'NEWOBJ' ? resolver.newobj(fn, args.items, at) : resolver.call(fn, args.items, at);
  };
  const targetError = (op: string, target: PyAny, want: string) =>
    new UnsafePickleError(
      `${name}: ${op} on a ${typeName(target)} at byte ${at}: only ${want} accept ${op} (a pickle that does this is probing for code paths, as in CVE-2026-24747); nothing was executed`,
      { path: name, position: at, detail: `${op}_TARGET` },
    );

  for (;;) {
    at = pos;
    if (pos >= n) throw corrupt('pickle ends without STOP; the file is truncated', 'TRUNCATED');
    const op = bytes[pos++];
    switch (op) {
      case 0x80: { // PROTO
        protocol = u8();
        if (protocol > 5) throw new UnsupportedError(`${name}: pickle protocol ${protocol} is newer than 5, the highest this reader knows`, { path: name, position: at });
        break;
      }
      case 0x95: { // FRAME: only a hint for buffering readers
        const len = u64();
        if (pos + len > n) throw corrupt(`frame of ${len} bytes runs past the end of the pickle`, 'TRUNCATED');
        break;
      }
      case 0x2e: { // STOP
        if (marks.length) throw corrupt('STOP with a MARK still open');
        if (stack.length !== 1) throw corrupt(`STOP with ${stack.length} values on the stack (expected exactly 1)`);
        if (refused.length) throw refusalError(refused, name);
        return { value: stack[0], end: pos, protocol };
      }
      case 0x28: // MARK
        if (marks.length >= lim.marks) throw corrupt(`more than ${lim.marks} nested MARKs (a guard against depth bombs)`, 'DEPTH_LIMIT');
        marks.push(stack.length);
        break;
      case 0x30: // POP
        if (marks.length && stack.length === marks[marks.length - 1]) marks.pop();
        else pop();
        break;
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: push(top()); break; // DUP
      case 0x4e: push(null); break; // NONE
      case 0x88: push(true); break; // NEWTRUE
      case 0x89: push(false); break; // NEWFALSE
      case 0x4a: push(i32()); break; // BININT
      case 0x4b: push(u8()); break; // BININT1
      case 0x4d: push(u16()); break; // BININT2
      case 0x49: { // INT (text); I00/I01 are protocol 0's booleans
        const s = line('INT');
        push(s === '00' ? false : s === '01' ? true : decimal(s, 'INT'));
        break;
      }
      case 0x4c: push(decimal(line('LONG').replace(/L$/, ''), 'LONG')); break; // LONG (text)
      case 0x8a: push(long(take(u8(), 'LONG1'))); break; // LONG1
      case 0x8b: { // LONG4
        const len = i32();
        if (len < 0) throw corrupt(`LONG4 with negative length ${len}`);
        push(long(take(len, 'LONG4')));
        break;
      }
      case 0x47: { // BINFLOAT: big-endian IEEE double
        need(8);
        push(view.getFloat64(pos, false));
        pos += 8;
        break;
      }
      case 0x46: { // FLOAT (text, repr)
        const s = line('FLOAT').trim();
        const v = s === 'inf' ? Infinity : s === '-inf' ? -Infinity : s === 'nan' ? NaN : Number(s);
        if (Number.isNaN(v) && s !== 'nan') throw corrupt(`FLOAT '${s.slice(0, 40)}' is not a number`);
        push(v);
        break;
      }
      case 0x58: push(text(take(u32(), 'BINUNICODE'), 'BINUNICODE')); break;
      case 0x8c: push(text(take(u8(), 'SHORT_BINUNICODE'), 'SHORT_BINUNICODE')); break;
      case 0x8d: push(text(take(u64(), 'BINUNICODE8'), 'BINUNICODE8')); break;
      case 0x56: push(rawUnicodeEscape(line('UNICODE'))); break; // UNICODE (text)
      // Python 2 str: text when it is UTF-8 (torch loads with encoding='utf-8'), else its bytes.
      case 0x54: { const len = i32(); if (len < 0) throw corrupt('BINSTRING with negative length'); push(py2str(take(len, 'BINSTRING'))); break; }
      case 0x55: push(py2str(take(u8(), 'SHORT_BINSTRING'))); break;
      case 0x53: { // STRING (text, repr-quoted)
        const b = stringEscape(line('STRING'));
        if (!b) throw corrupt('STRING is not a quoted string literal');
        push(py2str(b));
        break;
      }
      case 0x42: push(take(u32(), 'BINBYTES').slice()); break;
      case 0x43: push(take(u8(), 'SHORT_BINBYTES').slice()); break;
      case 0x8e: push(take(u64(), 'BINBYTES8').slice()); break;
      case 0x96: push(take(u64(), 'BYTEARRAY8').slice()); break;
      case 0x97: case 0x98:
        throw new UnsupportedError(`${name}: out-of-band pickle buffers (protocol 5 NEXT_BUFFER) cannot appear in a file`, { path: name, position: at });
      case 0x5d: push(new PyList()); break; // EMPTY_LIST
      case 0x29: push(new PyTuple([])); break; // EMPTY_TUPLE
      case 0x7d: push(new PyDict()); break; // EMPTY_DICT
      case 0x8f: push(new PySet([], false)); break; // EMPTY_SET
      case 0x6c: push(new PyList(popMark())); break; // LIST
      case 0x74: push(new PyTuple(popMark())); break; // TUPLE
      case 0x85: { const a = pop(); push(new PyTuple([a])); break; }
      case 0x86: { const b = pop(), a = pop(); push(new PyTuple([a, b])); break; }
      case 0x87: { const c = pop(), b = pop(), a = pop(); push(new PyTuple([a, b, c])); break; }
      case 0x91: push(new PySet(popMark(), true)); break; // FROZENSET
      case 0x64: { // DICT
        const items = popMark();
        if (items.length % 2) throw corrupt('DICT with an odd number of items');
        const d = new PyDict();
        for (let i = 0; i < items.length; i += 2) d.set(items[i], items[i + 1], at);
        push(d);
        break;
      }
      case 0x61: { // APPEND
        const v = pop();
        const t = top();
        if (t instanceof Poison) break;
        if (!(t instanceof PyList)) throw targetError('APPEND', t, 'lists');
        t.items.push(v);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark();
        const t = top();
        if (t instanceof Poison) break;
        if (!(t instanceof PyList)) throw targetError('APPENDS', t, 'lists');
        for (const v of items) t.items.push(v);
        break;
      }
      case 0x73: { // SETITEM
        const v = pop(), k = pop();
        const t = top();
        if (t instanceof Poison) break;
        if (!(t instanceof PyDict)) throw targetError('SETITEM', t, 'dicts');
        t.set(k, v, at);
        break;
      }
      case 0x75: { // SETITEMS
        const items = popMark();
        const t = top();
        if (t instanceof Poison) break;
        if (!(t instanceof PyDict)) throw targetError('SETITEMS', t, 'dicts');
        if (items.length % 2) throw corrupt('SETITEMS with an odd number of items');
        for (let i = 0; i < items.length; i += 2) t.set(items[i], items[i + 1], at);
        break;
      }
      case 0x90: { // ADDITEMS
        const items = popMark();
        const t = top();
        if (t instanceof Poison) break;
        if (!(t instanceof PySet) || t.frozen) throw targetError('ADDITEMS', t, 'sets');
        for (const v of items) t.items.push(v);
        break;
      }
      case 0x67: memoGet(index(line('GET'))); break;
      case 0x68: memoGet(u8()); break; // BINGET
      case 0x6a: memoGet(u32()); break; // LONG_BINGET
      case 0x70: memoPut(index(line('PUT'))); break;
      case 0x71: memoPut(u8()); break; // BINPUT
      case 0x72: memoPut(u32()); break; // LONG_BINPUT
      case 0x94: memoPut(memo.size); break; // MEMOIZE
      case 0x63: { // GLOBAL
        const module = line('GLOBAL module');
        const gname = line('GLOBAL name');
        push(global(module, gname, 'GLOBAL'));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const gname = pop(), module = pop();
        if (typeof module !== 'string' || typeof gname !== 'string') throw corrupt('STACK_GLOBAL needs two strings');
        push(global(module, gname, 'STACK_GLOBAL'));
        break;
      }
      case 0x52: { // REDUCE
        const args = pop();
        const fn = pop();
        push(call(fn, args, 'REDUCE'));
        break;
      }
      case 0x81: { // NEWOBJ
        const args = pop();
        const cls = pop();
        push(call(cls, args, 'NEWOBJ'));
        break;
      }
      case 0x92: { // NEWOBJ_EX
        const kwargs = pop(), args = pop(), cls = pop();
        if (!(kwargs instanceof PyDict) || kwargs.size !== 0) {
          if (cls instanceof Poison) { push(cls); break; }
          throw corrupt('NEWOBJ_EX with keyword arguments');
        }
        push(call(cls, args, 'NEWOBJ'));
        break;
      }
      case 0x69: { // INST: module\nname\n, arguments since MARK
        const module = line('INST module'), gname = line('INST name');
        const args = popMark();
        push(call(global(module, gname, 'INST'), new PyTuple(args), 'REDUCE'));
        break;
      }
      case 0x6f: { // OBJ: MARK cls args…
        const items = popMark();
        if (items.length === 0) throw corrupt('OBJ without a class');
        push(call(items[0], new PyTuple(items.slice(1)), 'REDUCE'));
        break;
      }
      case 0x62: { // BUILD
        const state = pop();
        const t = top();
        if (t instanceof Poison || state instanceof Poison) break;
        if (!resolver.build(t, state, at)) throw targetError('BUILD', t, 'OrderedDicts, tensors and plain-data objects');
        break;
      }
      case 0x51: { // BINPERSID
        const pid = pop();
        const poison = pid instanceof Poison ? pid : pid instanceof PyTuple ? pid.items.find((x) => x instanceof Poison) : undefined;
        push(poison ?? resolver.persistent(pid, at));
        break;
      }
      case 0x50: push(resolver.persistent(line('PERSID'), at)); break;
      case 0x82: case 0x83: case 0x84: { // EXT1/2/4: globals by number from copyreg's registry
        const code = op === 0x82 ? u8() : op === 0x83 ? u16() : u32();
        const refusal: Refusal = { module: 'copyreg.extension', name: String(code), opcode: 'EXT', position: at, kind: 'unsafe' };
        refused.push(refusal);
        push(new Poison(refusal));
        break;
      }
      default:
        throw new UnsafePickleError(
          `${name}: unknown pickle opcode 0x${op.toString(16).padStart(2, '0')} at byte ${at}; nothing was executed`,
          { path: name, position: at, detail: 'UNKNOWN_OPCODE' },
        );
    }
  }
}

function py2str(b: Uint8Array): string | Uint8Array {
  try { return utf8.decode(b); } catch { return b.slice(); }
}

/** Protocol 0's UNICODE: raw-unicode-escape (\uXXXX, \UXXXXXXXX; everything else latin-1). */
function rawUnicodeEscape(s: string): string {
  return s.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_m, a: string, b: string) => {
    const cp = parseInt(a ?? b, 16);
    return cp <= 0x10ffff ? String.fromCodePoint(cp) : _m;
  });
}

/** Protocol 0's STRING: a Python 2 repr literal in quotes. Returns its bytes, or null if it is not one. */
function stringEscape(s: string): Uint8Array | null {
  const q = s[0];
  if ((q !== "'" && q !== '"') || s.length < 2 || s[s.length - 1] !== q) return null;
  const body = s.slice(1, -1);
  const out: number[] = [];
  const simple: Record<string, number> = { n: 10, r: 13, t: 9, '\\': 92, "'": 39, '"': 34, a: 7, b: 8, f: 12, v: 11, '0': 0 };
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c !== '\\') { out.push(body.charCodeAt(i) & 0xff); continue; }
    const d = body[++i];
    if (d === 'x' && /^[0-9a-fA-F]{2}$/.test(body.slice(i + 1, i + 3))) { out.push(parseInt(body.slice(i + 1, i + 3), 16)); i += 2; }
    else if (d !== undefined && /[0-7]/.test(d)) {
      let j = i; let v = 0;
      while (j < body.length && j < i + 3 && /[0-7]/.test(body[j])) v = v * 8 + Number(body[j++]);
      out.push(v & 0xff); i = j - 1;
    } else if (d !== undefined && d in simple) out.push(simple[d]);
    else { out.push(92); if (d !== undefined) out.push(body.charCodeAt(i) & 0xff); }
  }
  return Uint8Array.from(out);
}

// ------------------------------------------------------------------ keys and names

const identities = new WeakMap<object, number>();
let nextIdentity = 0;
/**
 * A tuple's key is the interned id of its items' keys: short whatever the
 * tuple holds, so a tuple made of the same tuple twice, forty times over (2^40
 * leaves in 40 memo references), costs 40 small strings, not a 2^40 string.
 */
let tupleKeys = new WeakMap<PyTuple, string>();
/** Per run of the machine (unpickle is synchronous): reset at its start and end, so nothing outlives a file. */
const internedTuples = new Map<string, string>();
function resetKeys(): void {
  tupleKeys = new WeakMap();
  internedTuples.clear();
}

function scalarKeyId(k: PyAny, at: number): string {
  if (typeof k === 'string') return 's' + k;
  if (typeof k === 'number') return 'n' + (Object.is(k, -0) ? 0 : k);
  if (typeof k === 'boolean') return k ? 'n1' : 'n0';
  if (typeof k === 'bigint') return 'n' + k.toString();
  if (k === null) return 'N';
  if (k instanceof Uint8Array) return 'b' + latin1.decode(k);
  if (k instanceof PyList || k instanceof PyDict || (k instanceof PySet && !k.frozen)) {
    throw new CorruptError(`unhashable ${typeName(k)} used as a dict key (opcode at byte ${at})`, { position: at, detail: 'PICKLE' });
  }
  let id = identities.get(k as object);
  if (id === undefined) identities.set(k as object, (id = nextIdentity++));
  return 'o' + id;
}

/**
 * Python's dict-key equality for the key types a pickle can make (1 == 1.0 == True). Tuples are keyed
 * without recursion (an explicit stack: a 200,000-deep tuple is as safe as a flat one), each once.
 */
function keyId(k: PyAny, at: number): string {
  if (!(k instanceof PyTuple)) return scalarKeyId(k, at);
  const known = tupleKeys.get(k);
  if (known !== undefined) return known;
  const todo: PyTuple[] = [k];
  while (todo.length) {
    const t = todo[todo.length - 1];
    if (tupleKeys.has(t)) { todo.pop(); continue; }
    const pending = t.items.filter((x): x is PyTuple => x instanceof PyTuple && !tupleKeys.has(x));
    if (pending.length) { for (const x of pending) todo.push(x); continue; }
    todo.pop();
    const text = '(' + t.items.map((x) => (x instanceof PyTuple ? tupleKeys.get(x)! : scalarKeyId(x, at))).join(',') + ')';
    let id = internedTuples.get(text);
    if (id === undefined) internedTuples.set(text, (id = 't' + internedTuples.size));
    tupleKeys.set(t, id);
  }
  return tupleKeys.get(k)!;
}

export function typeName(v: PyAny): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'string') return 'str';
  if (v instanceof Uint8Array) return 'bytes';
  if (v instanceof PyList) return 'list';
  if (v instanceof PyTuple) return 'tuple';
  if (v instanceof PySet) return v.frozen ? 'frozenset' : 'set';
  if (v instanceof PyDict) return v.cls === 'builtins.dict' ? 'dict' : v.cls;
  if (v instanceof PyGlobal) return `global ${v.qualname}`;
  if (v instanceof PyObject) return v.cls;
  if (v instanceof Poison) return `refused global ${v.refused.module}.${v.refused.name}`;
  const c = (v as { constructor?: { pyType?: string; name?: string } }).constructor;
  return c?.pyType ?? c?.name ?? 'object';
}

// ------------------------------------------------------------------ to plain JS

export interface PlainOptions {
  name: string;
  limits?: Partial<PickleLimits>;
  /** Turns a resolver-made object into its plain form; `path` is its dotted path. */
  leaf(v: object, path: string): unknown;
}

/**
 * Python values → plain JS: dicts → objects (int keys as decimal strings) or a
 * Map when keys are not all str/int; lists, tuples and sets → arrays; bytes →
 * Uint8Array; ints past 2^53 → bigint. Shared and cyclic references stay shared.
 * A dict's instance attributes (a state dict's `_metadata`) become
 * non-enumerable properties.
 */
export function toPlain(root: PyAny, opts: PlainOptions): unknown {
  const lim = { ...DEFAULT_LIMITS, ...opts.limits };
  const done = new Map<object, unknown>();
  let count = 0;
  const visit = (v: PyAny, path: string, depth: number): unknown => {
    if (v === null || typeof v !== 'object') return v;
    if (v instanceof Uint8Array) return v;
    const seen = done.get(v);
    if (seen !== undefined) return seen;
    if (depth > lim.nesting) {
      throw new CorruptError(`${opts.name}: values nest deeper than ${lim.nesting} levels at ${path || '<root>'} (a guard against depth bombs)`, { path: opts.name, detail: 'DEPTH_LIMIT' });
    }
    if (++count > lim.objects) throw new CorruptError(`${opts.name}: more than ${lim.objects} values`, { path: opts.name, detail: 'OBJECT_LIMIT' });
    const sub = (k: string) => (path ? `${path}.${k}` : k);
    if (v instanceof PyList || v instanceof PyTuple || v instanceof PySet) {
      const out: unknown[] = [];
      done.set(v, out);
      // Leaves and values already converted need no path: a list of 5M references to one tensor builds no 5M paths.
      v.items.forEach((x, i) => {
        out.push(x === null || typeof x !== 'object' || x instanceof Uint8Array ? x : done.has(x) ? done.get(x) : visit(x, sub(String(i)), depth + 1));
      });
      return out;
    }
    if (v instanceof PyDict) {
      const plainKeys = v.keys.map(plainKey);
      const unique = new Set(plainKeys);
      if (plainKeys.every((k) => k !== null) && unique.size === plainKeys.length) {
        const out: Record<string, unknown> = {};
        done.set(v, out);
        v.keys.forEach((_, i) => define(out, plainKeys[i] as string, visit(v.values[i], sub(plainKeys[i] as string), depth + 1), true));
        if (v.attrs) for (const [k, a] of v.attrs) if (!Object.prototype.hasOwnProperty.call(out, k)) define(out, k, visit(a, sub(k), depth + 1), false);
        return out;
      }
      const out = new Map<unknown, unknown>();
      done.set(v, out);
      v.keys.forEach((k, i) => out.set(visit(k, sub(`[${i}]`), depth + 1), visit(v.values[i], sub(plainKeys[i] ?? `[${i}]`), depth + 1)));
      return out;
    }
    if (v instanceof PyObject) {
      const out: Record<string, unknown> = {};
      done.set(v, out);
      for (const [k, x] of v.fields) define(out, k, visit(x, sub(k), depth + 1), true);
      return out;
    }
    if (v instanceof PyGlobal) return v.qualname;
    const out = opts.leaf(v, path);
    done.set(v, out);
    return out;
  };
  return visit(root, '', 0);
}

function plainKey(k: PyAny): string | null {
  if (typeof k === 'string') return k;
  if (typeof k === 'number' && Number.isInteger(k)) return String(k);
  if (typeof k === 'bigint') return k.toString();
  return null;
}

/** Own data property, also for names like `__proto__` that plain assignment would turn into a prototype change. */
function define(o: object, k: string, v: unknown, enumerable: boolean): void {
  Object.defineProperty(o, k, { value: v, enumerable, writable: true, configurable: true });
}

// readTorch: a PyTorch `.pt` file → plain JS values with a TensorView for every
// tensor, without executing anything. Both on-disk formats:
//  - zip (torch ≥ 1.6): PREFIX/data.pkl, PREFIX/data/<key> storages, PREFIX/version,
//    and in torch 2.x PREFIX/byteorder, PREFIX/.data/version, PREFIX/.data/serialization_id;
//  - legacy (torch.save(..., _use_new_zipfile_serialization=False), and every file before 1.6):
//    five pickles back to back (magic number, protocol version, sys_info, the object,
//    the storage keys), then each storage as an 8-byte element count and its bytes.
// The pickle is read first and every tensor's geometry checked against its
// storage's declared size; only then are the storages read, and each must hold
// exactly the declared number of bytes.
import { CheckpointError, CorruptError, UnsupportedError } from '../../errors.js';
import { openSource, type ByteSource } from '../source.js';
import type { Source } from '../../store/resolve.js';
import { looksLikeZip, openZip, type ZipArchive } from './zip.js';
import { DEFAULT_LIMITS, PyDict, PyList, toPlain, typeName, unpickle, type PickleLimits, type PyAny, type Resolver } from './unpickle.js';
import { parseStoragePid, StorageType, TorchDtype, TorchResolver } from './rebuild.js';
import { elementBytes, TorchStorage, TorchTensor } from './tensor.js';
import { NumpyArray, NumpyDtype } from './numpy.js';

export { TorchTensor, TorchStorage };

/** Options of readTorch: CRC-32 checks of the zip entries, the pickle caps, a name for messages. */
export interface ReadTorchOptions {
  /** Check each zip entry's CRC-32 (torch writes them but never checks them). Default false. */
  verifyCrc?: boolean;
  /** Override the unpickler's caps (see DEFAULT_LIMITS). */
  limits?: Partial<PickleLimits>;
  /** Name used in messages when `src` is bytes. */
  name?: string;
}

/** A read .pt: the unpickled value, every tensor by dotted path, and the container's facts. */
export interface TorchFile {
  /** The unpickled object as plain JS values; every tensor a TorchTensor (a TensorView). */
  value: unknown;
  /** Every tensor by dotted path (`model.fc1.weight`, `optimizer.state.0.exp_avg`), in file order. */
  tensors: Map<string, TorchTensor>;
  format: 'zip' | 'legacy';
  /** Zip: the entry prefix (the stem of the name the file was first saved under, or `archive`). */
  prefix: string | null;
  /** Zip: the `version` record; legacy: the protocol version (1001). */
  version: string;
  byteorder: 'little' | 'big';
  /** torch 2.x: the `.data/serialization_id` record. */
  serializationId: string | null;
  /** Legacy: the sys_info record. */
  sysInfo: unknown;
  pickleProtocol: number;
}

/** The legacy format's first pickle. */
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL = 1001;
/** Small records (version, byteorder, serialization id) are a few bytes; refuse anything large. */
const MAX_RECORD_BYTES = 4096;

/** Reads a PyTorch .pt without executing its pickle: plain JS values with a TensorView for every tensor. */
export async function readTorch(src: Source, opts: ReadTorchOptions = {}): Promise<unknown> {
  return (await readTorchFile(src, opts)).value;
}

/** Reads a PyTorch .pt without executing its pickle, with its tensors by dotted path and the container's facts. */
export async function readTorchFile(src: Source, opts: ReadTorchOptions = {}): Promise<TorchFile> {
  const source = await openSource(src);
  const name = opts.name ?? source.name;
  try {
    if (source.size === 0) throw new CorruptError(`${name}: the file is empty`, { path: name, detail: 'TRUNCATED' });
    const head = await source.read(0, Math.min(source.size, 512));
    if (looksLikeZip(head)) return await readZip(source, name, opts);
    if (head[0] === 0x80) return await readLegacy(source, name, opts);
    if (head.length >= 262 && new TextDecoder().decode(head.subarray(257, 262)) === 'ustar') {
      throw new UnsupportedError(
        `${name} is a tar archive: the format of torch < 0.4. Load it with an old torch and re-save it with torch.save (zip format), or convert it to safetensors there`,
        { path: name, detail: 'TORCH_TAR' },
      );
    }
    throw new CorruptError(`${name} is neither a zip (torch ≥ 1.6) nor a legacy pickle file (starts 0x${hex(head.subarray(0, 4))})`, { path: name, detail: 'NOT_TORCH' });
  } catch (e) {
    if (e instanceof CheckpointError) {
      if (!e.path) (e as { path?: string }).path = name;
      throw e;
    }
    // Anything else is a defect of this reader met by a hostile or damaged file: still a typed error.
    throw new CorruptError(`${name}: unreadable torch file (${(e as Error)?.message ?? String(e)})`, { path: name, detail: 'INTERNAL', cause: e });
  }
}

// ---------------------------------------------------------------- zip

async function readZip(source: ByteSource, name: string, opts: ReadTorchOptions): Promise<TorchFile> {
  const zip = await openZip(source);
  const prefixes = zip.names.filter((n) => /^[^/]+\/data\.pkl$/.test(n)).map((n) => n.slice(0, -'/data.pkl'.length));
  if (prefixes.length !== 1) {
    throw new CorruptError(
      prefixes.length ? `${name}: ${prefixes.length} candidate pickles (${prefixes.map((p) => p + '/data.pkl').join(', ')}); a torch file has one`
        : `${name}: a zip without PREFIX/data.pkl is not a torch.save file`,
      { path: name, detail: 'TORCH_LAYOUT' },
    );
  }
  const prefix = prefixes[0];
  if (zip.entries.has(`${prefix}/constants.pkl`) || zip.names.some((n) => n.startsWith(`${prefix}/code/`))) {
    throw new UnsupportedError(
      `${name} is a TorchScript archive (torch.jit.save): its code is not read here. Load it in Python and save model.state_dict() with torch.save or safetensors`,
      { path: name, detail: 'TORCHSCRIPT' },
    );
  }
  const record = async (key: string): Promise<string | null> => {
    const e = zip.entries.get(`${prefix}/${key}`);
    if (!e) return null;
    if (e.size > MAX_RECORD_BYTES) throw new CorruptError(`${name}: record ${prefix}/${key} is ${e.size} bytes, far more than it can hold`, { path: name, detail: 'TORCH_LAYOUT' });
    return new TextDecoder().decode(await zip.read(e.name, { verifyCrc: opts.verifyCrc })).trim();
  };
  const version = (await record('.data/version')) ?? (await record('version')) ?? '';
  const bo = await record('byteorder');
  if (bo !== null && bo !== 'little' && bo !== 'big') throw new CorruptError(`${name}: byteorder record says '${bo.slice(0, 20)}', expected 'little' or 'big'`, { path: name, detail: 'TORCH_LAYOUT' });
  const byteorder = (bo ?? 'little') as 'little' | 'big';
  const serializationId = await record('.data/serialization_id');

  const pklName = `${name}:${prefix}/data.pkl`;
  const storages = new Map<string, TorchStorage>();
  const resolver = new TorchResolver(pklName, (pid, at) => {
    const p = parseStoragePid(pid, pklName, at, false);
    const dtype = p.type.dtype!;
    const seen = storages.get(p.key);
    if (seen) {
      if (seen.dtype !== dtype || seen.numel !== p.numel) {
        throw new CorruptError(`${pklName}: storage '${p.key}' is declared twice, as ${seen.numel} ${seen.dtype} and as ${p.numel} ${dtype} (opcode at byte ${at})`, { path: name, position: at, detail: 'STORAGE_SIZE' });
      }
      return seen;
    }
    const s = new TorchStorage(p.key, dtype, p.numel);
    storages.set(p.key, s);
    return s;
  });
  // The cap is checked against the directory's size before anything is read or inflated.
  const pklEntry = zip.entries.get(`${prefix}/data.pkl`)!;
  const pickleCap = opts.limits?.pickleBytes ?? DEFAULT_LIMITS.pickleBytes;
  if (pklEntry.size > pickleCap) {
    throw new CorruptError(`${pklName}: pickle of ${pklEntry.size} bytes exceeds the limit of ${pickleCap} (a guard against pickle bombs; raise limits.pickleBytes for a real checkpoint this large)`, {
      path: name, detail: 'PICKLE_LIMIT',
    });
  }
  const pkl = await zip.read(`${prefix}/data.pkl`, { verifyCrc: opts.verifyCrc });
  const { value, protocol } = unpickle(pkl, resolver, { name: pklName, limits: opts.limits });
  await loadZipStorages(zip, prefix, storages, byteorder, name, opts);
  return finish(value, name, opts, {
    format: 'zip', prefix, version, byteorder, serializationId, sysInfo: null, pickleProtocol: protocol,
  });
}

/**
 * Storages read at once. One at a time, a 1 GiB checkpoint read at readFile's
 * pace (one thread faulting in fresh memory); with several reads in flight the
 * I/O threads share that work, as the safetensors reader's segments do.
 */
const STORAGE_READS_IN_FLIGHT = 4;

async function loadZipStorages(zip: ZipArchive, prefix: string, storages: Map<string, TorchStorage>, byteorder: string, name: string, opts: ReadTorchOptions) {
  // Every storage is checked against its entry before any is read: a bad file fails before it costs a read.
  const jobs = [...storages.values()].map((s) => {
    const entry = `${prefix}/data/${s.key}`;
    const e = zip.entries.get(entry);
    if (!e) throw new CorruptError(`${name}: storage '${s.key}' has no entry ${entry}`, { path: name, detail: 'STORAGE_MISSING' });
    if (e.size !== s.nbytes) {
      throw new CorruptError(
        `${name}: storage '${s.key}' is declared as ${s.numel} ${s.dtype} elements (${s.nbytes} bytes) but ${entry} holds ${e.size} bytes`,
        { path: name, detail: 'STORAGE_SIZE' },
      );
    }
    return { s, entry };
  });
  let next = 0;
  let failed = false;
  const lane = async () => {
    while (!failed && next < jobs.length) {
      const { s, entry } = jobs[next++];
      try {
        s.fill(await zip.read(entry, { verifyCrc: opts.verifyCrc }), byteorder === 'big');
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  const lanes = Array.from({ length: Math.min(STORAGE_READS_IN_FLIGHT, jobs.length) }, lane);
  // All lanes settle before the first error is thrown: no read outlives the call.
  const settled = await Promise.allSettled(lanes);
  const bad = settled.find((r) => r.status === 'rejected');
  if (bad) throw (bad as PromiseRejectedResult).reason;
}

// ---------------------------------------------------------------- legacy

/** A resolver for the legacy header pickles, which hold only plain values. */
const plainResolver = (name: string): Resolver => {
  const r = new TorchResolver(name, (_pid, at) => {
    throw new CorruptError(`${name}: a persistent id in a header pickle (opcode at byte ${at})`, { path: name, position: at, detail: 'PERSISTENT_ID' });
  });
  return r;
};

async function readLegacy(source: ByteSource, name: string, opts: ReadTorchOptions): Promise<TorchFile> {
  const lim = { ...DEFAULT_LIMITS, ...opts.limits };
  // The pickles come first; the storages follow the last one. Read what can hold the pickles.
  const buf = await source.read(0, Math.min(source.size, lim.pickleBytes + 1024 * 1024));
  const notLegacy = (what: string) => new CorruptError(`${name}: not a torch file: ${what}`, { path: name, detail: 'NOT_TORCH' });

  let r = unpickle(buf, plainResolver(`${name}:magic`), { name: `${name}:magic`, limits: opts.limits });
  if (r.value !== LEGACY_MAGIC) {
    throw notLegacy(`it is a pickle whose first value is not torch's magic number 0x1950a86a20f9469cfc6c; a bare pickle is not a torch checkpoint`);
  }
  r = unpickle(buf, plainResolver(`${name}:protocol`), { name: `${name}:protocol`, start: r.end, limits: opts.limits });
  if (r.value !== LEGACY_PROTOCOL) {
    throw new UnsupportedError(`${name}: legacy protocol version ${String(r.value)}; only ${LEGACY_PROTOCOL} exists`, { path: name, detail: 'TORCH_VERSION' });
  }
  r = unpickle(buf, plainResolver(`${name}:sys_info`), { name: `${name}:sys_info`, start: r.end, limits: opts.limits });
  const sysInfo = toPlain(r.value, { name, limits: opts.limits, leaf: () => null });
  if (!(r.value instanceof PyDict)) throw new CorruptError(`${name}: sys_info is a ${typeName(r.value)}, not a dict`, { path: name, detail: 'TORCH_LAYOUT' });

  const pklName = `${name}:pickle`;
  const roots = new Map<string, TorchStorage>();
  const views = new Map<string, TorchStorage>();
  const resolver = new TorchResolver(pklName, (pid, at) => {
    const p = parseStoragePid(pid, pklName, at, true);
    const dtype = p.type.dtype!;
    let root = roots.get(p.key);
    if (!root) {
      root = new TorchStorage(p.key, dtype, p.numel);
      roots.set(p.key, root);
    } else if (root.dtype !== dtype || root.numel !== p.numel) {
      throw new CorruptError(`${pklName}: storage '${p.key}' is declared twice, as ${root.numel} ${root.dtype} and as ${p.numel} ${dtype} (opcode at byte ${at})`, { path: name, position: at, detail: 'STORAGE_SIZE' });
    }
    if (!p.view) return root;
    let v = views.get(p.view.key);
    if (!v) {
      v = new TorchStorage(p.view.key, dtype, p.view.size, root, p.view.offset * elementBytes(dtype));
      views.set(p.view.key, v);
    }
    return v;
  });
  const main = unpickle(buf, resolver, { name: pklName, start: r.end, limits: opts.limits });
  const keysPickle = unpickle(buf, plainResolver(`${name}:storage keys`), { name: `${name}:storage keys`, start: main.end, limits: opts.limits });
  const keys = keysPickle.value;
  if (!(keys instanceof PyList) || !keys.items.every((k) => typeof k === 'string')) {
    throw new CorruptError(`${name}: the storage key list is a ${typeName(keys)}, not a list of strings`, { path: name, detail: 'TORCH_LAYOUT' });
  }
  // Each storage: its element count (int64) and then its bytes, in key-list order. torch's writeFileRaw
  // converts both to little-endian on every host, so sys_info.little_endian does not change how they read.
  let off = keysPickle.end;
  for (const k of keys.items as string[]) {
    const s = roots.get(k);
    if (!s) throw new CorruptError(`${name}: storage key '${k}' is listed but no tensor uses it`, { path: name, detail: 'STORAGE_MISSING' });
    if (s.loaded) throw new CorruptError(`${name}: storage key '${k}' is listed twice`, { path: name, detail: 'TORCH_LAYOUT' });
    if (off + 8 > source.size) throw new CorruptError(`${name}: storage '${k}' starts past the end of the file (byte ${off}); the file is truncated`, { path: name, detail: 'TRUNCATED', position: off });
    const c = await source.read(off, off + 8);
    const cv = new DataView(c.buffer, c.byteOffset, 8);
    const count = cv.getUint32(4, true) * 0x100000000 + cv.getUint32(0, true);
    if (count !== s.numel) {
      throw new CorruptError(`${name}: storage '${k}' is declared as ${s.numel} ${s.dtype} elements but the file records ${count} (byte ${off})`, { path: name, detail: 'STORAGE_SIZE', position: off });
    }
    off += 8;
    if (off + s.nbytes > source.size) throw new CorruptError(`${name}: storage '${k}' needs ${s.nbytes} bytes at ${off}, the file ends at ${source.size}; it is truncated`, { path: name, detail: 'TRUNCATED', position: off });
    s.fill(await source.read(off, off + s.nbytes), false);
    off += s.nbytes;
  }
  for (const s of roots.values()) {
    if (!s.loaded) throw new CorruptError(`${name}: storage '${s.key}' is used but not in the storage key list`, { path: name, detail: 'STORAGE_MISSING' });
  }
  return finish(main.value, name, opts, {
    format: 'legacy', prefix: null, version: String(LEGACY_PROTOCOL), byteorder: 'little', serializationId: null, sysInfo,
    pickleProtocol: main.protocol,
  });
}

// ---------------------------------------------------------------- plain values

function finish(value: PyAny, name: string, opts: ReadTorchOptions, meta: Omit<TorchFile, 'value' | 'tensors'>): TorchFile {
  const plain = toPlain(value, {
    name,
    limits: opts.limits,
    leaf(v, path) {
      if (v instanceof TorchTensor) {
        if (!v.name) v.name = path;
        return v;
      }
      if (v instanceof TorchStorage) {
        // A bare storage (torch.save(t.untyped_storage())): a 1-D tensor over all of it.
        const t = new TorchTensor(v.dtype, [v.numel], [1], 0, v, false);
        t.name = path;
        return t;
      }
      if (v instanceof NumpyArray) {
        if (!v.tensor) throw new CorruptError(`${name}: numpy array at ${path || '<root>'} has no contents (no BUILD)`, { path: name, detail: 'PICKLE' });
        if (!v.tensor.name) v.tensor.name = path;
        return v.tensor;
      }
      if (v instanceof NumpyDtype) return `numpy.${v.code}`;
      if (v instanceof TorchDtype) return v.torchName;
      if (v instanceof StorageType) return v.qualname;
      throw new CorruptError(`${name}: a ${typeName(v as PyAny)} at ${path || '<root>'} has no plain form`, { path: name, detail: 'PICKLE' });
    },
  });
  const tensors = new Map<string, TorchTensor>();
  walkTensors(plain, (path, t) => { tensors.set(path, t); }, opts.limits);
  return { value: plain, tensors, ...meta };
}

/**
 * Visits every tensor in a plain value by its dotted path, list indices and
 * dict keys alike. A tensor held by two containers (tied weights) is visited
 * under both paths; a container reachable by two paths (a shared sub-graph) is
 * walked once, at the first — so a pickle of lists made of the same list twice,
 * forty times over, costs forty steps, not 2^40. Cycles are cut. Containers
 * walked count against the object limit and tensor paths against the tensor
 * limit, so the walk is bounded whatever the file.
 */
export function walkTensors(value: unknown, visit: (path: string, t: TorchTensor) => void, limits?: Partial<PickleLimits>): void {
  const max = limits?.objects ?? DEFAULT_LIMITS.objects;
  const maxTensors = limits?.tensors ?? DEFAULT_LIMITS.tensors;
  const walked = new Set<object>();
  let count = 0;
  let tensors = 0;
  // An explicit stack of child iterators: recursion's order without its depth, and no list of
  // children built up front (5M references to one tensor fail at the limit, not after 5M paths).
  const frames: (() => [unknown, string] | undefined)[] = [];
  const step = (v: unknown, path: string) => {
    if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return;
    if (v instanceof TorchTensor) {
      if (++tensors > maxTensors) {
        throw new CorruptError(`more than ${maxTensors} tensor paths (a guard against shared-reference bombs; raise limits.tensors if a real checkpoint has this many)`, { detail: 'TENSOR_LIMIT' });
      }
      visit(path, v);
      return;
    }
    if (walked.has(v)) return;
    if (++count > max) throw new CorruptError(`more than ${max} values to walk (a guard against shared-reference bombs)`, { detail: 'OBJECT_LIMIT' });
    walked.add(v);
    const sub = (k: string) => (path ? `${path}.${k}` : k);
    if (Array.isArray(v)) {
      let i = 0;
      frames.push(() => (i < v.length ? [v[i], sub(String(i++))] : undefined));
    } else if (v instanceof Map) {
      const it = v.entries();
      let i = 0;
      frames.push(() => {
        const r = it.next();
        return r.done ? undefined : [r.value[1], sub(typeof r.value[0] === 'object' ? `[${i++}]` : String(r.value[0]))];
      });
    } else {
      const keys = Object.keys(v);
      let i = 0;
      frames.push(() => (i < keys.length ? [(v as Record<string, unknown>)[keys[i]], sub(keys[i++])] : undefined));
    }
  };
  step(value, '');
  while (frames.length) {
    const child = frames[frames.length - 1]();
    if (child === undefined) frames.pop();
    else step(child[0], child[1]);
  }
}

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

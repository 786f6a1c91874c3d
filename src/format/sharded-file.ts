// A sharded model seen as one file: the shards' names and tensors behind one SafetensorsFile, each tensor
// read from the shard that holds it. The sharded reader (sharded-read.ts) returns one after binding every
// shard to the index; a checkpoint's parts are joined into one the same way (checkpoint/read.ts).
import type { SliceRanges } from './slice.js';
import { CorruptError, NotFoundError } from '../errors.js';
import type { Store } from '../store/store.js';
import type { Header, TensorView } from '../types/tensor.js';
import { nameRecord, own } from '../name-record.js';
import type { ShardIndex } from './sharded.js';
import type { IndexSidecar } from './index-sidecar.js';
import type { SafetensorsFile, SingleFile } from './safetensors-read.js';

/**
 * Files read as one, like the shards of a model (a checkpoint's parts, each written by its own writer):
 * every tensor of every file, in file order. `key` names the whole for messages; a tensor name in two
 * files is CORRUPT (detail DUPLICATE_TENSOR), naming both.
 */
export function joinFiles(store: Store, key: string, files: readonly SingleFile[]): SafetensorsFile {
  const weight_map: Record<string, string> = nameRecord<string>();
  for (const f of files) {
    for (const n of f.names) {
      if (own(weight_map, n) !== undefined) {
        throw new CorruptError(`${store.describe(key)}: tensor '${n}' is in both ${weight_map[n]} and ${f.path}: the parts of a checkpoint must hold disjoint tensors`, {
          path: store.describe(key), tensor: n, detail: 'DUPLICATE_TENSOR',
        });
      }
      weight_map[n] = f.path;
    }
  }
  return new ShardedFile(store, key, { metadata: { total_size: files.reduce((a, f) => a + f.header.dataLength, 0) }, weight_map }, files, null, []);
}

/** A sharded model seen as one file: names and tensors across shards, loaded shard by shard. */
export class ShardedFile implements SafetensorsFile {
  readonly path: string;
  readonly names: readonly string[];
  readonly header: Header;
  private readonly owner = new Map<string, SafetensorsFile>();

  constructor(store: Store, indexKey: string, readonly index: ShardIndex, readonly files: readonly SingleFile[],
    /** The index sidecar when it was checked (null: absent, or not checked because verify was off). */
    readonly indexSidecar: IndexSidecar | null,
    /** What could not be checked (no index sidecar). */
    readonly warnings: readonly string[]) {
    this.path = store.describe(indexKey);
    for (const f of files) for (const n of f.names) this.owner.set(n, f);
    this.names = files.flatMap((f) => f.names);
    this.header = combinedHeader(files.map((f) => f.header), this.names, this.owner);
  }

  get metadata() { return this.files[0]?.metadata ?? null; }
  get sidecar() { return this.files[0]?.sidecar ?? null; }
  get tensors(): Readonly<Record<string, TensorView>> {
    return Object.assign(nameRecord<TensorView>(), ...this.files.map((f) => f.tensors));
  }

  private fileOf(name: string): SafetensorsFile {
    const f = this.owner.get(name);
    if (!f) throw new NotFoundError(`${this.path}: no shard holds tensor '${name}'`, { path: this.path, tensor: name });
    return f;
  }

  async tensor(name: string): Promise<TensorView> {
    return this.fileOf(name).tensor(name);
  }

  async slice(name: string, ranges: SliceRanges): Promise<TensorView> {
    return this.fileOf(name).slice(name, ranges);
  }

  async load(names: readonly string[] = this.names): Promise<Record<string, TensorView>> {
    const by = new Map<SafetensorsFile, string[]>();
    for (const n of names) {
      const f = this.fileOf(n);
      by.set(f, [...(by.get(f) ?? []), n]);
    }
    const parts = await Promise.all([...by].map(([f, ns]) => f.load(ns)));
    return Object.assign(nameRecord<TensorView>(), ...parts);
  }
}

function combinedHeader(headers: Header[], names: readonly string[], owner: Map<string, SafetensorsFile>): Header {
  return {
    headerLength: 0,
    dataStart: 0,
    dataLength: headers.reduce((a, h) => a + h.dataLength, 0),
    metadata: headers[0]?.metadata ?? null,
    size: names.length,
    names: () => [...names],
    get: (n: string) => owner.get(n)?.header.get(n),
    *tensors() { for (const h of headers) yield* h.tensors(); },
  };
}

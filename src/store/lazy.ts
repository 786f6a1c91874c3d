// A store whose backend module loads on first use: OpfsStore and IdbStore are
// small fronts over it, so a page that never uses them never downloads their
// code — a bundler that splits code puts each backend in its own chunk, as
// long as nothing imports the backend statically (bench/size.bench.js).
import { CheckpointError, IoError } from '../errors.js';
import type { ByteRange, Store, StoreCallOptions, StoreEntry } from './store.js';

export class LazyStore implements Store {
  readonly readOnly = false;
  private backend: Promise<Store> | undefined;

  /** How this store names `key` in messages: exactly as its backend will. */
  readonly describe: (key: string) => string;

  /** `load` makes the backend, on the first call that needs it. */
  constructor(readonly kind: string, describe: (key: string) => string, private readonly load: () => Promise<Store>) {
    this.describe = describe;
  }

  private get store(): Promise<Store> {
    return this.backendStore();
  }

  /** The backend, loading it on the first call (for subclasses that forward more than the Store methods). */
  protected backendStore(): Promise<Store> {
    return (this.backend ??= this.load().catch((e) => {
      this.backend = undefined;
      // A backend that refuses its configuration says why itself; only a module that fails to load is wrapped.
      if (e instanceof CheckpointError) throw e;
      throw new IoError(`could not load the ${this.kind} store's code: ${(e as Error)?.message ?? String(e)}`, { detail: 'STORE_LOAD', cause: e });
    }));
  }

  async size(key: string, opts?: StoreCallOptions): Promise<number> {
    return (await this.store).size(key, opts);
  }
  async read(key: string, range?: ByteRange, opts?: StoreCallOptions): Promise<Uint8Array> {
    return (await this.store).read(key, range, opts);
  }
  async write(key: string, data: Uint8Array | AsyncIterable<Uint8Array>, opts?: StoreCallOptions): Promise<void> {
    return (await this.store).write(key, data, opts);
  }
  async list(prefix: string, opts?: StoreCallOptions): Promise<StoreEntry[]> {
    return (await this.store).list(prefix, opts);
  }
  /** Whether `key` holds a file. */
  async exists(key: string, opts?: StoreCallOptions): Promise<boolean> {
    return (await this.store).exists(key, opts);
  }
  async rename(from: string, to: string): Promise<void> {
    return (await this.store).rename(from, to);
  }
  async remove(key: string): Promise<void> {
    return (await this.store).remove(key);
  }
  async sync(key: string): Promise<void> {
    return (await this.store).sync(key);
  }
}

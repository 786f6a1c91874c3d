// S3Store, the store of `s3://bucket/prefix` sources and of code that makes one
// with options: its configuration is checked here, at once, and its code —
// requests, SigV4 signing, multipart uploads, listings (s3-backend.ts) — loads on first
// use, so a page that never touches S3 never downloads it (bench/size.bench.js:
// 5.7 KB gzip of every read + verify page). Nothing may import s3-backend.ts statically
// but its types.
import { UnsupportedError } from '../errors.js';
import { checkKey } from './keys.js';
import { LazyStore } from './lazy.js';
import type { HashedValue, Store, StoreCallOptions, VersionedValue, WriteCondition } from './store.js';
import type { S3Backend, S3StoreOptions, S3Stats } from './s3-backend.js';
import type { S3Credentials, SignInput } from './sigv4.js';

/** Default multipart part size (8 MiB): memory in flight is part size × parts in flight. */
export const DEFAULT_PART_SIZE = 8 << 20;
/** Default parts uploaded at once. */
export const DEFAULT_PARTS_IN_FLIGHT = 4;
/** S3's smallest part (but the last). */
export const MIN_PART_SIZE = 5 << 20;

/**
 * The AWS Signature Version 4 headers of one request (src/store/sigv4.ts). The signer loads on first use: the
 * public entry exports this form, so a page that never signs does not ship it at start (bench/size.bench.js).
 */
export async function signRequest(req: SignInput): Promise<Record<string, string>> {
  return (await import('./sigv4.js')).signRequest(req);
}

/** The bucket and key of an `s3://bucket/key` URL (the key %-decoded, without a trailing '/'). */
export function parseS3Url(url: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/i.exec(url);
  if (!m) throw new UnsupportedError(`'${url}' is not an s3:// URL (s3://bucket/prefix)`, { detail: 'BAD_SOURCE', path: url });
  let key: string;
  try {
    key = m[2].split('/').map((s) => decodeURIComponent(s)).join('/');
  } catch {
    throw new UnsupportedError(`cannot open '${url}': its key has a malformed %-escape`, { detail: 'BAD_URL', path: url });
  }
  return { bucket: m[1], key: key.replace(/\/+$/, '') };
}

/** `name`, when it is an S3 bucket name; else an UNSUPPORTED BAD_SOURCE error. */
export function checkBucket(name: string): string {
  if (!name || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name)) {
    throw new UnsupportedError(`'${name}' is not an S3 bucket name (3–63 characters: lowercase letters, digits, '.', '-')`, { detail: 'BAD_SOURCE' });
  }
  return name;
}

/** An S3 key/value read from the environment the runtime has: process.env (Node, Bun, Deno) or Deno.env. */
export function envVar(name: string, env?: Record<string, string | undefined>): string | undefined {
  if (env) return env[name] || undefined;
  const g = globalThis as { process?: { env?: Record<string, string | undefined> }; Deno?: { env: { get(n: string): string | undefined } } };
  try {
    const v = g.process?.env?.[name] ?? g.Deno?.env.get(name);
    return v || undefined;
  } catch {
    return undefined; // Deno without --allow-env: as if unset.
  }
}

/** What S3StoreOptions and the environment say, checked and resolved once (S3Store and its backend share it). */
export function s3Config(opts: S3StoreOptions): Required<Pick<S3StoreOptions, 'bucket' | 'prefix' | 'region' | 'endpoint' | 'forcePathStyle' | 'partSize' | 'partsInFlight'>> & { credentials: S3Credentials | undefined } {
  const env = opts.env;
  const bucket = checkBucket(opts.bucket);
  const prefix = (opts.prefix ?? '').replace(/^\/+/, '').replace(/\/+$/, '');
  if (prefix !== '') checkKey(prefix, `s3://${bucket}`);
  const region = opts.region ?? envVar('AWS_REGION', env) ?? envVar('AWS_DEFAULT_REGION', env) ?? 'us-east-1';
  const endpoint = opts.endpoint ?? envVar('AWS_ENDPOINT_URL_S3', env) ?? envVar('AWS_ENDPOINT_URL', env);
  const id = envVar('AWS_ACCESS_KEY_ID', env);
  const secret = envVar('AWS_SECRET_ACCESS_KEY', env);
  const partSize = opts.partSize ?? DEFAULT_PART_SIZE;
  if (!(Number.isSafeInteger(partSize) && partSize >= MIN_PART_SIZE)) {
    throw new RangeError(`S3 store: partSize must be at least ${MIN_PART_SIZE} bytes (S3's minimum part), got ${opts.partSize}`);
  }
  return {
    bucket, prefix, region, partSize,
    endpoint: (endpoint ?? `https://s3.${region}.amazonaws.com`).replace(/\/+$/, ''),
    // Virtual-hosted style on AWS (path style is deprecated there) when the name fits in a host name; path style elsewhere.
    forcePathStyle: opts.forcePathStyle ?? (endpoint !== undefined || bucket.includes('.')),
    credentials: opts.credentials ?? (id && secret ? { accessKeyId: id, secretAccessKey: secret, sessionToken: envVar('AWS_SESSION_TOKEN', env) } : undefined),
    partsInFlight: Math.max(1, opts.partsInFlight ?? DEFAULT_PARTS_IN_FLIGHT),
  };
}

/** Objects under an S3-compatible bucket and prefix (AWS, Ceph RGW, MinIO …), signed with SigV4: ranged reads, multipart writes. */
export class S3Store extends LazyStore {
  readonly remote = true;
  /** A PUT replaces an object whole or not at all: writeAtomic needs no temporary key. */
  readonly atomicWrites = true;
  readonly bucket: string;
  /** Key prefix every key is under ('' for the bucket's root). */
  readonly prefix: string;
  readonly partSize: number;
  readonly partsInFlight: number;
  private loaded: S3Backend | undefined;

  readonly endpoint: string;
  readonly region: string;

  constructor(opts: S3StoreOptions) {
    const c = s3Config(opts);
    // The backend gets what was resolved here, not the environment again: the store is what it was made as.
    super('s3', (key) => `s3://${c.bucket}/${c.prefix === '' ? key : key === '' ? c.prefix : `${c.prefix}/${key}`}`,
      async () => (this.loaded = new (await import('./s3-backend.js')).S3Backend({ ...opts, ...c, env: {} })) as Store);
    this.bucket = c.bucket;
    this.prefix = c.prefix;
    this.partSize = c.partSize;
    this.partsInFlight = c.partsInFlight;
    this.endpoint = c.endpoint;
    this.region = c.region;
  }

  /** Requests and bytes this store made and moved (zeros until its first request). */
  get stats(): S3Stats {
    return this.loaded?.stats ?? { requests: 0, retries: 0, bytesIn: 0, bytesOut: 0 };
  }

  private async s3(): Promise<S3Backend> {
    return (await this.backendStore()) as S3Backend;
  }
  async readVersioned(key: string): Promise<VersionedValue | null> {
    return (await this.s3()).readVersioned(key);
  }
  async writeIf(key: string, data: Uint8Array, cond: WriteCondition): Promise<string> {
    return (await this.s3()).writeIf(key, data, cond);
  }
  async readHashed(key: string, opts?: StoreCallOptions): Promise<HashedValue> {
    return (await this.s3()).readHashed(key, opts);
  }
  /** Creates the bucket (tests and first-time set-up; an existing bucket of yours is not an error). */
  async createBucket(): Promise<void> {
    return (await this.s3()).createBucket();
  }
  /** Multipart uploads begun under this store's prefix and neither completed nor aborted. */
  async listUploads(): Promise<{ key: string; uploadId: string; initiated: Date }[]> {
    return (await this.s3()).listUploads();
  }
  /**
   * Aborts the uploads listUploads() shows (those older than `olderThanMs` only, when given; with `under`, only
   * keys starting with it; `now` replaces the clock); returns them.
   */
  async abortUploads(opts: { olderThanMs?: number; under?: string; now?: number } = {}): Promise<{ key: string; uploadId: string }[]> {
    return (await this.s3()).abortUploads(opts);
  }
}

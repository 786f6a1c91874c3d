// AWS Signature Version 4 for S3 requests, on WebCrypto only (crypto.subtle
// exists in Node ≥ 20, Deno, Bun, browsers and workerd), so the S3 store runs
// unchanged everywhere without the AWS SDK. Written from the specification:
// https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
// and tested against its documented example signatures (test/sigv4.test.js).

/** AWS-style credentials: access key id, secret key, optional session token. */
export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  /** Temporary credentials (STS) carry a session token, sent as x-amz-security-token. */
  sessionToken?: string;
}

export interface SignInput {
  method: string;
  /** Host (with a port when it is not the default one). */
  host: string;
  /** The path exactly as sent: each segment already encoded with `uriEncode`. */
  path: string;
  /** Query parameters (values unencoded); sorted and encoded here. */
  query?: [string, string][];
  /** Headers to sign besides host and the x-amz-* ones added here (names any case). */
  headers?: Record<string, string>;
  /** Hex SHA-256 of the body, or 'UNSIGNED-PAYLOAD'. */
  payloadHash: string;
  region: string;
  service?: string;
  credentials: S3Credentials;
  date?: Date;
}

/** The hex SHA-256 of an empty body (every GET, HEAD and DELETE). */
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

const enc = new TextEncoder();

/** RFC 3986 encoding as SigV4 wants it: everything but A–Z a–z 0–9 - _ . ~ (encodeURIComponent leaves !'()* alone). */
export function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

/** The query string as sent and as signed: pairs sorted by name, then value, both encoded. */
export function canonicalQuery(query: [string, string][] = []): string {
  return query
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

function hex(b: ArrayBuffer): string {
  let s = '';
  for (const x of new Uint8Array(b)) s += x.toString(16).padStart(2, '0');
  return s;
}

export async function sha256Hex(data: Uint8Array | string): Promise<string> {
  return hex(await crypto.subtle.digest('SHA-256', (typeof data === 'string' ? enc.encode(data) : data) as BufferSource));
}

async function hmac(key: Uint8Array | ArrayBuffer, data: string): Promise<ArrayBuffer> {
  const k = await crypto.subtle.importKey('raw', key as BufferSource, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return crypto.subtle.sign('HMAC', k, enc.encode(data));
}

/** Signing keys by secret/date/region/service: one derivation (four HMACs) per day instead of per request. */
const keyCache = new Map<string, ArrayBuffer>();

async function signingKey(secret: string, day: string, region: string, service: string): Promise<ArrayBuffer> {
  const id = `${secret}\n${day}\n${region}\n${service}`;
  let k = keyCache.get(id);
  if (!k) {
    k = await hmac(await hmac(await hmac(await hmac(enc.encode('AWS4' + secret), day), region), service), 'aws4_request');
    if (keyCache.size > 16) keyCache.clear();
    keyCache.set(id, k);
  }
  return k;
}

/** `20130524T000000Z` */
export function amzDate(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/**
 * The headers to send with a request: the given ones plus x-amz-date,
 * x-amz-content-sha256, x-amz-security-token (with a session token) and
 * Authorization. Host is signed but not returned (fetch sets it).
 */
export async function signRequest(req: SignInput): Promise<Record<string, string>> {
  const service = req.service ?? 's3';
  const date = amzDate(req.date ?? new Date());
  const day = date.slice(0, 8);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers ?? {})) headers[k.toLowerCase()] = v;
  headers['x-amz-date'] = date;
  headers['x-amz-content-sha256'] = req.payloadHash;
  if (req.credentials.sessionToken) headers['x-amz-security-token'] = req.credentials.sessionToken;
  const signed: Record<string, string> = { ...headers, host: req.host };
  const names = Object.keys(signed).sort();
  const canonical = [
    req.method.toUpperCase(),
    req.path,
    canonicalQuery(req.query),
    names.map((n) => `${n}:${signed[n].trim().replace(/\s+/g, ' ')}\n`).join(''),
    names.join(';'),
    req.payloadHash,
  ].join('\n');
  const scope = `${day}/${req.region}/${service}/aws4_request`;
  const toSign = `AWS4-HMAC-SHA256\n${date}\n${scope}\n${await sha256Hex(canonical)}`;
  const signature = hex(await hmac(await signingKey(req.credentials.secretAccessKey, day, req.region, service), toSign));
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${req.credentials.accessKeyId}/${scope},SignedHeaders=${names.join(';')},Signature=${signature}`;
  return headers;
}

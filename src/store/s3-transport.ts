// How the S3 store sends a signed request and reads the answer. Two
// transports give the same S3Answer: fetch (browsers, workerd, Deno, Bun, and
// any `fetch` the caller passes), and node:http(s) on Node (./s3-node.ts,
// loaded on first use only there) — undici's fetch copies every request body
// and wraps every received chunk in web streams, which on a 2-core machine
// shared with the gateway cost ~1 CPU-second per GiB either way
// (BENCHMARKS.md "s3").

/** One answer: its status, headers and body, read once in one of the ways below. */
export interface S3Answer {
  readonly status: number;
  /** A header's value (name in lowercase), or null. */
  header(name: string): string | null;
  /** The body as text (kept: an error answer is read twice, to tell a retryable one). */
  text(): Promise<string>;
  /** The whole body. */
  bytes(): Promise<Uint8Array>;
  /**
   * The body chunk by chunk, in order; resolves when it has ended complete, rejects when the connection
   * fails or closes early. A chunk is valid only during the call (copy what you keep).
   */
  each(onChunk: (b: Uint8Array) => void): Promise<void>;
  /** Lets the body go unread (its connection is freed or closed). */
  discard(): Promise<void>;
}

/** What a transport is asked to send: the request exactly as signed. */
export interface S3Call {
  method: string;
  headers: Record<string, string>;
  body?: Uint8Array;
  /** Aborts the request and the reading of its body (the store's signal, the caller's, the time limit). */
  signal: AbortSignal;
}

/** Sends one request; rejects on a network failure (the store retries it), resolves with any HTTP answer. */
export type S3Transport = (url: string, call: S3Call) => Promise<S3Answer>;

/** The transport over a fetch (the runtime's, or one the caller passes). */
export function fetchTransport(fetchFn: typeof fetch): S3Transport {
  return async (url, call) => {
    const res = await fetchFn(url, { method: call.method, headers: call.headers, body: call.body, signal: call.signal, cache: 'no-store' } as RequestInit);
    let text: Promise<string> | undefined;
    return {
      status: res.status,
      header: (name) => res.headers.get(name),
      text: () => (text ??= res.text()),
      bytes: async () => new Uint8Array(await res.arrayBuffer()),
      each: async (onChunk) => {
        if (!res.body) return;
        const reader = res.body.getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          onChunk(value);
        }
      },
      discard: async () => {
        await res.body?.cancel().catch(() => {});
      },
    };
  };
}

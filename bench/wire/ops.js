// The operations the wire benches time, the same in a browser page, Deno and
// workerd: safeckpt (`lib`, however the runtime imports it) against the ten
// lines a user writes with fetch + WebCrypto. `m` describes the served model
// (made by bench/_wire.js): { url, size, dataStart, names, offsets: name →
// [begin, end] in the data region, digests: name → hex SHA-256, sha256 }.
// Each op returns what `check` then verifies untimed: every result must be
// exactly the file's bytes, verified.

const hex = (buf) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');
const digest = async (bytes) => hex(await crypto.subtle.digest('SHA-256', bytes));

/** The tensor the range ops fetch: one from the middle of the file. */
export const rangeTensor = (m) => m.names[m.names.length >> 1];

export function ops(lib, m) {
  const sidecarUrl = m.url + '.meta.json';
  let opened = null; // a file opened untimed before `range` (opening is not what that op measures)
  return {
    /** fetch + arrayBuffer of the whole file: the wire alone. */
    'fetch': async () => ({ bytes: (await (await fetch(m.url)).arrayBuffer()).byteLength }),
    /** The peer: the file and its sidecar fetched, the header parsed, every tensor's WebCrypto digest compared. */
    'peer': async () => {
      const [sc, buf] = await Promise.all([fetch(sidecarUrl).then((r) => r.json()), fetch(m.url).then((r) => r.arrayBuffer())]);
      const n = Number(new DataView(buf).getBigUint64(0, true));
      const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 8, n)));
      const tensors = {};
      for (const [name, t] of Object.entries(header)) {
        if (name === '__metadata__') continue;
        const view = new Uint8Array(buf, 8 + n + t.data_offsets[0], t.data_offsets[1] - t.data_offsets[0]);
        if ((await digest(view)) !== sc.tensors[name].sha256) throw new Error(`peer: ${name} does not match`);
        tensors[name] = view;
      }
      return { tensors };
    },
    /** fetch + one WebCrypto digest of the whole file, compared with the sidecar's. */
    'peer-file': async () => {
      const [sc, buf] = await Promise.all([fetch(sidecarUrl).then((r) => r.json()), fetch(m.url).then((r) => r.arrayBuffer())]);
      if ((await digest(buf)) !== sc.sha256) throw new Error('peer-file: the file does not match');
      return { bytes: buf.byteLength };
    },
    'verify': async () => ({ report: await lib.verify(m.url) }),
    'verify-w0': async () => ({ report: await lib.verify(m.url, { workers: 0 }) }),
    'load': async () => {
      const f = await lib.readSafetensors(m.url);
      return { tensors: await f.load() };
    },
    /** Untimed set-up of `range`: a fresh open (header + sidecar), nothing loaded. */
    'range:setup': async () => { opened = await lib.readSafetensors(m.url); },
    'range': async () => {
      const name = rangeTensor(m);
      return { tensors: { [name]: await opened.tensor(name) } };
    },
    'range-peer': async () => {
      const name = rangeTensor(m);
      const [b, e] = m.offsets[name];
      const res = await fetch(m.url, { headers: { Range: `bytes=${m.dataStart + b}-${m.dataStart + e - 1}` } });
      if (res.status !== 206) throw new Error(`range-peer: HTTP ${res.status}`);
      const buf = await res.arrayBuffer();
      if ((await digest(buf)) !== m.digests[name]) throw new Error(`range-peer: ${name} does not match`);
      return { tensors: { [name]: new Uint8Array(buf) } };
    },
  };
}

/**
 * Untimed: the op's result is the file's exact bytes, verified. Tensors are
 * hashed again here (against the sidecar's digests, which the bench computed
 * from the file when it wrote it); reports must say verified, with the file's SHA-256.
 */
export async function check(op, r, m) {
  if (r.report) {
    const rep = r.report;
    if (rep.ok !== true || rep.sidecar !== 'verified' || rep.sha256 !== m.sha256 || rep.size !== m.size || rep.tensors !== m.names.length) {
      throw new Error(`${op}: report ${JSON.stringify({ ok: rep.ok, sidecar: rep.sidecar, sha256: rep.sha256, size: rep.size, tensors: rep.tensors })}`);
    }
  }
  if (r.tensors) {
    const names = Object.keys(r.tensors);
    const want = op.startsWith('range') ? [rangeTensor(m)] : m.names;
    if (names.sort().join() !== [...want].sort().join()) throw new Error(`${op}: tensors ${names.join(', ')}`);
    for (const n of names) {
      const v = r.tensors[n];
      const bytes = v instanceof Uint8Array ? v : v.bytes();
      if ((await digest(bytes)) !== m.digests[n]) throw new Error(`${op}: tensor ${n} is not the file's bytes`);
    }
  }
  if (r.bytes !== undefined && r.bytes !== m.size) throw new Error(`${op}: ${r.bytes} bytes, the file has ${m.size}`);
  return true;
}

/** Runs `op` timed (its untimed set-up first, if any), then checks it when asked. */
export async function timed(table, op, m, checkIt) {
  if (table[op + ':setup']) await table[op + ':setup']();
  const t0 = performance.now();
  const r = await table[op]();
  const ms = performance.now() - t0;
  if (checkIt) await check(op, r, m);
  return ms;
}

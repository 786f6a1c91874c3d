// A Cloudflare Worker that checks a model before anything uses it: it reads a
// safetensors file over HTTP (range requests: the header, then one tensor),
// verifies every byte against the file's signed sidecar, and answers with JSON.
// `import … from 'safeckpt'` is all it takes: wrangler bundles the package with
// the workerd condition, so the WASM core arrives as a module (Workers refuse to
// compile WebAssembly from bytes) and nothing reaches for node: modules.
//
//   GET /check?url=https://host/model.safetensors[&tensor=NAME]
//   → 200 { ok: true, tensors, tensor: { name, dtype, shape, first }, verified }
//   → 422 { ok: false, code, message }   a CheckpointError: INTEGRITY, AUTH, CORRUPT, NOT_FOUND, …
import { readSafetensors, verify, CheckpointError } from 'safeckpt';

export default {
  async fetch(request, env) {
    const q = new URL(request.url).searchParams;
    const url = q.get('url');
    if (!url) return Response.json({ ok: false, message: 'usage: /check?url=https://host/model.safetensors[&tensor=NAME]' }, { status: 400 });
    // The HMAC key is a Worker secret (`wrangler secret put MODEL_KEY`); without one, hashes are still checked.
    const key = env.MODEL_KEY || undefined;
    try {
      const file = await readSafetensors(url);
      const name = q.get('tensor') ?? file.names[0];
      const t = await file.tensor(name);
      const report = await verify(url, { key });
      return Response.json({
        ok: true,
        tensors: file.names.length,
        tensor: { name, dtype: t.dtype, shape: t.shape, first: Array.from(t.toFloat32().subarray(0, 4)) },
        verified: { sidecar: report.sidecar, hmac: report.hmac, sha256: report.sha256 },
      });
    } catch (e) {
      if (e instanceof CheckpointError) return Response.json({ ok: false, code: e.code, message: e.message }, { status: 422 });
      throw e;
    }
  },
};

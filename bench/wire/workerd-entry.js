// The wire bench's ops as a Worker (bench/wire-edge.bench.js bundles it with
// the conditions wrangler sets and serves it with workerd): POST /init with
// the model's description, then GET /run?op=NAME runs one op and keeps its
// result, GET /check checks that result (untimed). The driver times /run from
// outside: inside a Worker the clock stands still while code runs.
import * as lib from 'safeckpt';
import { ops, check } from './ops.js';

let m, table, last;
export default {
  async fetch(request) {
    const u = new URL(request.url);
    try {
      if (u.pathname === '/init') {
        m = await request.json();
        table = ops(lib, m);
        return new Response('ok');
      }
      if (u.pathname === '/run') {
        const op = u.searchParams.get('op');
        last = { op, r: await table[op]() };
        return new Response('ok');
      }
      if (u.pathname === '/check') {
        await check(last.op, last.r, m);
        last = null;
        return new Response(JSON.stringify(lib.hashEngineInfo?.() ?? {}));
      }
      return new Response('not found', { status: 404 });
    } catch (e) {
      return new Response(String(e?.stack ?? e), { status: 500 });
    }
  },
};

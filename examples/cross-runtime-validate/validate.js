#!/usr/bin/env node
// Is this checkpoint intact, authentic, and does it fit the model? One script,
// unchanged under Node and Deno, for CI jobs and people:
//
//   node validate.js <file|folder|url> [--expect shapes.json|model.safetensors] [--key-env VAR] [options]
//   deno run --allow-read --allow-env --allow-net validate.js <…same…>
//
// Sources: a training checkpoint (its folder, or the root whose LATEST names it),
// a safetensors file (ours, or one made by Python's `safetensors`), a sharded
// model (index or folder), a legacy PyTorch .pt (read, never executed), any of
// them over http(s). Checks, each reported even when an earlier one fails:
//   header     the file parses as its format (reference rules; a .pt's pickle is interpreted, nothing called)
//   integrity  every byte against the sidecar's SHA-256 (a checkpoint: every file against its manifest;
//              a .pt: the CRC-32 of every zip entry)
//   hmac       the sidecar's (manifest's) HMAC with the key in $VAR (--key-env VAR); without a key: whether it is signed
//   shapes     every tensor against --expect (a JSON table name → { dtype?, shape }, or a model file to fit)
// Options: --strict (refuse a file without a sidecar), --allow-missing, --allow-unexpected, --json.
// Exit: 0 valid, 1 invalid (each failure with its code and message), 2 usage.
import { openTensors, verify, checkShapes, CheckpointError } from '../../dist/index.js'; // in an application: from 'safeckpt'

const runtime = globalThis.Deno ? `deno ${globalThis.Deno.version.deno}` : globalThis.Bun ? `bun ${globalThis.Bun.version}` : `node ${process.versions.node}`;
const USAGE = 'usage: validate.js <file|folder|url> [--expect shapes.json|model.safetensors] [--key-env VAR] [--strict] [--allow-missing] [--allow-unexpected] [--json]';

function parse(argv) {
  const o = { flags: new Set(), positionals: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (['--json', '--strict', '--allow-missing', '--allow-unexpected'].includes(a)) o.flags.add(a);
    else if (a === '--expect' || a === '--key-env') {
      if (argv[i + 1] === undefined) throw new Error(`${a} needs a value`);
      o[a.slice(2)] = argv[++i];
    } else if (a.startsWith('--')) throw new Error(`unknown option ${a}`);
    else o.positionals.push(a);
  }
  if (o.positionals.length !== 1) throw new Error('expected exactly one file, folder or URL');
  if (o['key-env'] !== undefined && !process.env[o['key-env']]) throw new Error(`environment variable ${o['key-env']} (from --key-env) is not set or empty`);
  return o;
}

/** The expected tensors: a JSON table name → { dtype?, shape }, or the tensors of another weights file. */
async function expected(spec) {
  if (/\.json$/i.test(spec) && !/\.index\.json$/i.test(spec)) {
    const { readFile } = await import('node:fs/promises');
    return JSON.parse(await readFile(spec, 'utf8'));
  }
  const m = await openTensors(spec, { verify: false });
  return Object.fromEntries(m.names.map((n) => [n, m.info(n)]));
}

const fail = (check, e) => ({ check, ok: false, code: e instanceof CheckpointError ? e.code : 'IO', message: e.message, ...(e.tensor ? { tensor: e.tensor } : {}), ...(e.data ? { data: e.data } : {}) });

export async function validate(src, opts = {}) {
  const key = opts.keyEnv ? process.env[opts.keyEnv] : undefined;
  const checks = [];
  let model;
  try {
    model = await openTensors(src, { verify: false });
    const dtypes = {};
    for (const n of model.names) dtypes[model.info(n).dtype] = (dtypes[model.info(n).dtype] ?? 0) + 1;
    const ckpt = model.checkpoint ? `step ${model.checkpoint.step}, model: ` : '';
    checks.push({ check: 'header', ok: true, message: `${ckpt}${model.names.length} tensors (${Object.entries(dtypes).map(([d, k]) => `${d} × ${k}`).join(', ') || 'none'})${model.metadata ? `, metadata: ${Object.keys(model.metadata).join(', ')}` : ''}`, format: model.format, tensors: model.names.length });
  } catch (e) {
    // A checkpoint is checked whole as it is opened: a damaged one fails here, as what it is.
    const check = e.code === 'INTEGRITY' ? 'integrity' : e.code === 'AUTH' ? 'hmac' : 'header';
    return { ok: false, runtime, source: String(src), checks: [fail(check, e)] };
  }

  if (model.format === 'checkpoint') {
    const c = model.checkpoint;
    checks.push({ check: 'integrity', ok: true, status: 'verified', message: `every file the manifest lists matches its size and SHA-256 (${c.files} files)` });
    if (key === undefined) {
      checks.push({ check: 'hmac', ok: true, status: c.hmac, message: c.hmac === 'not-checked' ? 'signed, not checked (no key given: --key-env VAR)' : 'none (unsigned)' });
    } else {
      try {
        const signed = await openTensors(src, { key }); // reads it again, now checking the manifest's HMAC
        checks.push({ check: 'hmac', ok: true, status: 'verified', message: `verified${signed.checkpoint.keyId ? ` (key_id ${signed.checkpoint.keyId})` : ''}` });
      } catch (e) {
        checks.push(fail(e.code === 'AUTH' ? 'hmac' : 'integrity', e));
      }
    }
  } else if (model.format === 'torch') {
    // A .pt has no sidecar: the zip's CRC-32s are its only integrity record, and nothing can carry an HMAC.
    try {
      await openTensors(src, { verify: true });
      checks.push({ check: 'integrity', ok: true, message: 'every zip entry matches its CRC-32 (a .pt has no SHA-256 sidecar: convert it with `safeckpt convert` and sign the result)' });
    } catch (e) {
      checks.push(fail('integrity', e));
    }
    checks.push(key !== undefined
      ? { check: 'hmac', ok: false, code: 'AUTH', message: `${model.path} is a PyTorch file: it carries no HMAC, so it cannot be authenticated with a key` }
      : { check: 'hmac', ok: true, status: 'unsigned', message: 'none (a .pt cannot be signed)' });
  } else {
    try {
      const r = await verify(src, { key, strict: opts.strict });
      checks.push({ check: 'integrity', ok: true, status: r.sidecar, message: r.sidecar === 'verified' ? `every byte matches the sidecar (${r.size} bytes)` : 'NOT checked: no sidecar (structure only; --strict refuses this)' });
      checks.push({ check: 'hmac', ok: true, status: r.hmac, message: r.hmac === 'verified' ? `verified${r.keyId ? ` (key_id ${r.keyId})` : ''}` : r.hmac === 'not-checked' ? 'signed, not checked (no key given: --key-env VAR)' : 'none (unsigned)' });
    } catch (e) {
      checks.push(fail(e.code === 'AUTH' ? 'hmac' : 'integrity', e));
    }
  }

  if (opts.expect) {
    try {
      const want = await expected(opts.expect);
      const have = new Map(model.names.map((n) => [n, model.info(n)]));
      checkShapes(want, have, { allowMissing: opts.allowMissing, allowUnexpected: opts.allowUnexpected, path: model.path });
      checks.push({ check: 'shapes', ok: true, message: `all ${Object.keys(want).length} expected tensors fit` });
    } catch (e) {
      checks.push(fail('shapes', e));
    }
  }
  return { ok: checks.every((c) => c.ok), runtime, source: model.path, format: model.format, checks };
}

export function describe(r) {
  const lines = [`${r.source}${r.format ? ` (${r.format})` : ''} — checked with ${r.runtime}`];
  for (const c of r.checks) lines.push(`  ${c.check.padEnd(10)} ${c.ok ? 'ok   ' : 'FAIL '} ${c.ok ? '' : c.code + ': '}${c.message}`);
  lines.push(r.ok ? 'VALID' : `INVALID (${r.checks.filter((c) => !c.ok).map((c) => c.code).join(', ')})`);
  return lines.join('\n');
}

// Run as a script (not when imported).
const invoked = globalThis.Deno ? globalThis.Deno.mainModule === import.meta.url
  : !!process.argv[1] && (await import('node:url')).pathToFileURL((await import('node:fs')).realpathSync(process.argv[1])).href === import.meta.url;
if (invoked) {
  let o;
  try {
    o = parse(globalThis.Deno ? globalThis.Deno.args : process.argv.slice(2));
  } catch (e) {
    console.error(`validate: ${e.message}\n${USAGE}`);
    process.exit(2);
  }
  const r = await validate(o.positionals[0], {
    keyEnv: o['key-env'], expect: o.expect, strict: o.flags.has('--strict'),
    allowMissing: o.flags.has('--allow-missing'), allowUnexpected: o.flags.has('--allow-unexpected'),
  });
  console.log(o.flags.has('--json') ? JSON.stringify(r) : describe(r));
  process.exit(r.ok ? 0 : 1);
}

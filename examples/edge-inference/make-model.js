#!/usr/bin/env node
// Writes the example's model (model.safetensors + its sidecar) into a folder:
//   node examples/edge-inference/make-model.js [dir]          (default: examples/edge-inference/model)
//   SAFECKPT_KEY=… deno run -A examples/edge-inference/make-model.js [dir]   signs the sidecar with that key
import { writeSafetensors } from '../../dist/index.js'; // in an application: from 'safeckpt'
import { makeWeights, METADATA } from './model.js';
import { fileURLToPath } from 'node:url';

const dir = process.argv[2] ?? fileURLToPath(new URL('./model/', import.meta.url));
const key = process.env.SAFECKPT_KEY || undefined;
const r = await writeSafetensors(`${dir.replace(/\/$/, '')}/model.safetensors`, makeWeights(1), { metadata: METADATA, key, keyId: key ? 'example' : undefined });
console.log(`wrote ${r.path} (${r.size} bytes, sha256 ${r.sha256}) and ${r.sidecar}${key ? ' (signed)' : ''}`);

// The training-checkpoint inspector: a checkpoint folder (or the root whose
// LATEST names one) described from its manifest — step, model metadata,
// fine-tuning lineage, files — and the headers of its weights files (model and
// optimizer slots), without reading tensor data unless --digests asks. It
// describes, it does not verify: `safeckpt verify`/loadCheckpoint check the bytes.
import type { Inspection, InspectOptions, InspectedTensor } from './inspect.js';
import type { Store } from '../store/store.js';
import { NotFoundError } from '../errors.js';
import { joinKey } from '../store/keys.js';
import { MANIFEST, MODEL_FILE, OPTIMIZER_FILE } from '../checkpoint/layout.js';
import { locateCheckpoint } from '../checkpoint/read.js';
import { parseManifest } from '../checkpoint/manifest.js';
import { readHeaderAt } from '../format/safetensors-read.js';
import { safetensorsTensors } from './inspect-safetensors.js';
import { ProgressReporter } from '../types/operation.js';


export async function inspectCheckpoint(store: Store, rootKey: string, opts: InspectOptions): Promise<Inspection> {
  const key = await locateCheckpoint(store, rootKey);
  const { manifest: m, version } = parseManifest(await store.read(joinKey(key, MANIFEST)), store.describe(joinKey(key, MANIFEST)));
  const weights = [MODEL_FILE, OPTIMIZER_FILE].filter((f) => m.files[f]);
  const heads = await Promise.all(weights.map(async (f) => {
    try {
      return { file: f, ...(await readHeaderAt(store, joinKey(key, f))) };
    } catch (e) {
      if (e instanceof NotFoundError) throw new NotFoundError(`${store.describe(joinKey(key, f))} is missing, but the manifest lists it: the checkpoint is incomplete`, { path: store.describe(joinKey(key, f)), detail: 'FILE_MISSING', cause: e });
      throw e;
    }
  }));
  const total = heads.reduce((a, h) => a + h.header.dataLength, 0);
  const progress = new ProgressReporter(opts.onProgress, total, 'hash');
  const tensors: InspectedTensor[] = [];
  for (const h of heads) {
    for (const t of await safetensorsTensors(store, joinKey(key, h.file), h.header, h.size, opts, progress.onBytes)) tensors.push({ ...t, file: h.file });
  }
  if (opts.digests) progress.finish();
  const md = m.model;
  const details: Record<string, string | number> = {
    step: m.step,
    created_at: m.created_at,
    'format_version (on disk)': version,
    model_name: md.model_name,
    ...(md.model_id ? { model_id: md.model_id } : {}),
    architecture_type: md.architecture_type,
    source: md.source,
  };
  const arch = Object.entries(md.architecture);
  if (arch.length) details.architecture = arch.map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join(' ');
  if (m.lineage.chain.length) {
    details.lineage = m.lineage.chain.map((l) => `${l.model_name} (${l.source}, started ${l.started_at}${l.from_checkpoint ? `, from step ${l.from_checkpoint.step}` : ''})`).join(' → ');
  }
  if (m.lineage.fine_tuned_from) details.fine_tuned_from = m.lineage.fine_tuned_from;
  const metrics = Object.entries(m.metrics);
  if (metrics.length) details.metrics = metrics.map(([k, v]) => `${k}=${v}`).join(' ');
  details.files = Object.entries(m.files).map(([f, e]) => `${f}${e.size !== null ? ` (${e.size} B)` : ''}`).join(', ');
  details.signed = m.hmac !== undefined ? `yes${m.key_id ? ` (key_id ${m.key_id})` : ''}` : 'no';
  const size = Object.values(m.files).reduce((a, e) => a + (e.size ?? 0), 0);
  const metadata = heads.find((h) => h.file === MODEL_FILE)?.header.metadata ?? null;
  return { format: 'checkpoint', path: store.describe(key), size, tensors, metadata, details };
}

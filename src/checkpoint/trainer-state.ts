// trainer_state.json: everything about the run that is not a tensor — the
// step, the training config, the RNG state, the data cursor, the optimizer's
// name, config, iteration count and hidden float32 counters, and any user
// state (`extra`, e.g. a learning-rate schedule's position). Plain JSON: its
// floats are covered by the manifest's SHA-256 of this file, not by canonical
// JSON, so they round-trip exactly (a JSON number holds any float32 or double).
import { CorruptError } from '../errors.js';
import { parseJsonObject, shownJson } from '../format/signed-json.js';
import type { OptimizerState } from '../tfjs/optimizer-state.js';

export interface TrainerState {
  step: number;
  config: Record<string, unknown>;
  rng: unknown;
  data_cursor: unknown;
  optimizer: OptimizerState | null;
  extra: unknown;
}

export function serializeTrainerState(s: TrainerState): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(s, null, 1) + '\n');
}

export function parseTrainerState(bytes: Uint8Array, path: string, manifestStep: number): TrainerState {
  const d = parseJsonObject(bytes, path);
  const bad = (what: string) => new CorruptError(`${path}: ${what}`, { path, detail: 'BAD_TRAINER_STATE' });
  if (d.step !== manifestStep) throw bad(`"step" is ${shownJson(d.step)} but the manifest says ${manifestStep}`);
  const o = d.optimizer as Record<string, unknown> | null | undefined;
  if (o !== null && o !== undefined) {
    if (typeof o !== 'object' || typeof o.name !== 'string' || !Array.isArray(o.slot_kinds) || !Array.isArray(o.slot_order) ||
      typeof o.counters !== 'object' || o.counters === null || typeof o.iterations !== 'number') {
      throw bad('"optimizer" lacks name, iterations, counters, slot_kinds or slot_order');
    }
  }
  return {
    step: d.step as number,
    config: (typeof d.config === 'object' && d.config !== null ? d.config : {}) as Record<string, unknown>,
    rng: d.rng ?? null,
    data_cursor: d.data_cursor ?? null,
    optimizer: (o ?? null) as OptimizerState | null,
    extra: d.extra ?? null,
  };
}

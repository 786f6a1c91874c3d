// Files written before stable names: a LayersModel's weights were stored under
// tfjs's own names (`dense_Dense2/kernel`), which carry process-global
// counters. They still load: names.ts's legacyRenames maps them onto the
// model's stable names (by layer class and rank), the optimizer's slot names
// and order follow, and a WARN says to re-save.
import type { Logger } from '../log/logger.js';
import type { TensorLike, TensorMap } from '../types/tensor.js';
import type { OptimizerState } from '../tfjs/optimizer-state.js';

/** `tensors` with every name in `renames` replaced (others kept). */
export function renameTensors<T extends TensorLike>(tensors: Readonly<Record<string, T>>, renames: ReadonlyMap<string, string>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [n, t] of Object.entries(tensors)) out[renames.get(n) ?? n] = t;
  return out;
}

/** The optimizer state and slots of a legacy checkpoint under the new variable names (`${variable}/${kind}`). */
export function renameOptimizerState(state: OptimizerState, slots: Readonly<Record<string, TensorLike>>, renames: ReadonlyMap<string, string>): { state: OptimizerState; slots: TensorMap } {
  const slotRenames = new Map<string, string>();
  for (const [from, to] of renames) for (const k of state.slot_kinds) slotRenames.set(`${from}/${k}`, `${to}/${k}`);
  return {
    state: { ...state, slot_order: state.slot_order.map((n) => renames.get(n) ?? n) },
    slots: renameTensors(slots, slotRenames),
  };
}

export function warnLegacy(log: Logger, path: string, renames: ReadonlyMap<string, string>): void {
  const [first] = renames;
  log.warn("the weights carry TensorFlow.js's process-global names (written before stable names): mapped onto the model's layers by class and order; save again to store stable names", {
    path, renamed: renames.size, example: first ? `${first[0]} → ${first[1]}` : undefined,
  });
}

// What a model is, for checkpoint metadata when the caller does not say:
// architecture_type from the model's class, model_name from its own name or a
// summary of its layers, architecture parameters from its layers. Nothing is
// called a transformer unless it says it is one (a { variables } model that
// carries its own architecture_type, like the demo's TinyLM).
import { hasLayers, isAutoName, layerPaths, toSnakeCase } from './names.js';
import type { LayerLike, ModelLike, VariableModel } from './tf.js';

export interface ModelDescription {
  /** 'sequential', 'functional', 'variables', or what the model says it is. */
  architecture_type: string;
  model_name: string;
  architecture: Record<string, unknown>;
}

/** Layer runs longer than this are shortened in a model_name (first three, '…', last two). */
const NAME_LAYERS = 6;

/** `dense×2` for runs of the same class: the summary stays short for deep stacks. */
function runs(classes: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < classes.length;) {
    let j = i;
    while (j < classes.length && classes[j] === classes[i]) j++;
    out.push(j - i > 1 ? `${classes[i]}×${j - i}` : classes[i]);
    i = j;
  }
  return out;
}

function describeLayers(model: { layers: readonly LayerLike[]; name?: string; getClassName?(): string; weights: readonly { shape: number[] }[] }): ModelDescription {
  const cls = model.getClassName?.() ?? 'Model';
  // tfjs calls a functional model 'Model'; Keras calls it Functional.
  const architecture_type = cls === 'Model' ? 'functional' : toSnakeCase(cls);
  const top = model.layers.filter((l) => l.getClassName() !== 'InputLayer');
  const summary = runs(top.map((l) => toSnakeCase(l.getClassName())));
  const shown = summary.length > NAME_LAYERS ? [...summary.slice(0, 3), '…', ...summary.slice(-2)] : summary;
  const named = model.name !== undefined && !isAutoName(model as LayerLike);
  const parameters = model.weights.reduce((a, w) => a + w.shape.reduce((x, y) => x * y, 1), 0);
  return {
    architecture_type,
    model_name: named ? model.name! : `${architecture_type}(${shown.join(',')})`,
    architecture: {
      class: cls,
      layers: top.map((l) => l.getClassName()),
      weight_layers: layerPaths(model).filter((p) => p.layer.weights.length > 0).length,
      parameters,
    },
  };
}

/** The metadata defaults of `model`. */
export function describeModel(model: ModelLike): ModelDescription {
  if (hasLayers(model)) return describeLayers(model);
  const vm = model as Partial<VariableModel>;
  if (typeof vm.architecture_type === 'string') {
    return { architecture_type: vm.architecture_type, model_name: vm.architecture_type, architecture: { ...(vm.architecture ?? {}) } };
  }
  const weights = (model as { weights?: unknown }).weights;
  const count = Array.isArray(weights) ? weights.length : Object.keys(vm.variables && typeof vm.variables === 'object' ? vm.variables : model).length;
  return { architecture_type: 'variables', model_name: `variables(${count})`, architecture: { variables: count } };
}

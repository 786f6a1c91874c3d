// Stable weight names for tfjs-layers models.
//
// tfjs names a layer it was not given a name for after a process-global
// counter (`dense_Dense5`), so the same architecture built second in a process,
// or in another order, has other names. Files never carry those names. A
// weight is named by where it sits in the model instead, as Keras 3 names the
// entries of a `.weights.h5` file (keras/src/saving/saving_lib.py, which keys
// layers of a container by their class in snake case, `dense`, `dense_1`, …,
// counted within that container), with the weight's role as tfjs and Keras 2
// name it (`kernel`, `bias`, `gamma`, `moving_mean`):
//
//   dense/kernel  dense/bias  batch_normalization/gamma  …  dense_1/kernel
//
// A layer the user named explicitly (`tf.layers.dense({ name: 'head' })`) keeps
// its name (`head/kernel`); the class-counted keys skip names already taken.
// A nested model is a path (`sequential/dense/kernel`), as Hugging Face names
// a submodule's parameters (`model.layers.0.mlp.up_proj.weight`, with '/' for
// '.' as tfjs does). Inside a role, auto-named sublayers lose their counter
// (`forward_lstm_LSTM3/kernel` → `forward_lstm/kernel`).
import type { LayerLike, LayerVariableLike, LayersModelLike } from './tf.js';

/** Recorded in files written with these names (safetensors `__metadata__`). */
export const WEIGHT_NAMING = 'safeckpt.layers.v1';

/** tfjs-layers' toSnakeCase (generic_utils.ts), so keys match the names tfjs derives from a class. */
export function toSnakeCase(name: string): string {
  const intermediate = name.replace(/(.)([A-Z][a-z0-9]+)/g, '$1_$2');
  const insecure = intermediate.replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
  return insecure[0] !== '_' ? insecure : 'private' + insecure;
}

/**
 * True when `name` is the one tfjs made up for `layer`: `dense_Dense3` for a layer (tfjs-layers'
 * Layer constructor), `sequential_2` / `model3` for a model (Sequential's and LayersModel's).
 */
export function isAutoName(layer: LayerLike): boolean {
  const { name } = layer, cls = layer.getClassName();
  const prefix = toSnakeCase(cls) + '_' + cls;
  if (name.startsWith(prefix) && /^\d+$/.test(name.slice(prefix.length))) return true;
  return Array.isArray(layer.layers) && (/^sequential_\d+$/.test(name) || new RegExp(`^${cls.toLowerCase()}\\d+$`).test(name));
}

const AUTO_SEGMENT = /^(.*)_([A-Z][A-Za-z0-9]*?)(\d+)$/;

/** A path with tfjs's counters taken out of auto-named segments (`forward_lstm_LSTM3` → `forward_lstm`). */
export function stripAutoCounters(path: string): string {
  return path.split('/').map((seg) => {
    const m = AUTO_SEGMENT.exec(seg);
    return m && m[1].endsWith(toSnakeCase(m[2])) ? m[1] : seg;
  }).join('/');
}

/** The role of weight `w` in `layer`: its name after the layer's own, counters stripped. */
function roleOf(w: LayerVariableLike, layer: LayerLike): string {
  const full = w.originalName ?? w.name;
  const at = full.lastIndexOf(layer.name + '/');
  const rest = at >= 0 && (at === 0 || full[at - 1] === '/') ? full.slice(at + layer.name.length + 1) : full.slice(full.lastIndexOf('/') + 1);
  return stripAutoCounters(rest);
}

/** Each layer of a container under its key: explicit names first, then class-counted keys that skip them. */
function layerKeys(layers: readonly LayerLike[]): string[] {
  const taken = new Set<string>();
  const explicit = layers.map((l) => !isAutoName(l));
  layers.forEach((l, i) => { if (explicit[i]) taken.add(l.name); });
  const counts = new Map<string, number>();
  return layers.map((l, i) => {
    if (explicit[i]) return l.name;
    const base = toSnakeCase(l.getClassName());
    let n = counts.get(base) ?? 0, key: string;
    do key = n === 0 ? base : `${base}_${n}`, n++; while (taken.has(key));
    counts.set(base, n);
    taken.add(key);
    return key;
  });
}

/** One leaf layer (it holds weights itself) under its path in the model. */
export interface LayerPath {
  layer: LayerLike;
  /** `dense_1`, `sequential/head`. */
  path: string;
}

/** Every leaf layer of `model` in model order, with its path. */
export function layerPaths(model: { layers: readonly LayerLike[] }): LayerPath[] {
  const out: LayerPath[] = [];
  const walk = (layers: readonly LayerLike[], prefix: string) => {
    const keys = layerKeys(layers);
    layers.forEach((l, i) => {
      if (Array.isArray(l.layers)) walk(l.layers, `${prefix}${keys[i]}/`);
      else out.push({ layer: l, path: prefix + keys[i] });
    });
  };
  walk(model.layers, '');
  return out;
}

/** A weight of a LayersModel under its stable name. */
export interface NamedLayerWeight {
  name: string;
  weight: LayerVariableLike;
}

/**
 * The weights of `model` under stable names, in model order (`model.weights` order: trainable
 * first). Names are unique; a weight shared by two layers is named once, where it first appears.
 */
export function layerWeightNames(model: LayersModelLike & { layers: readonly LayerLike[] }): NamedLayerWeight[] {
  const byWeight = new Map<LayerVariableLike, string>();
  const used = new Set<string>();
  const claim = (w: LayerVariableLike, name: string) => {
    let n = name;
    for (let k = 1; used.has(n); k++) n = `${name}_${k}`;
    used.add(n);
    byWeight.set(w, n);
  };
  for (const { layer, path } of layerPaths(model)) {
    for (const w of layer.weights) if (!byWeight.has(w)) claim(w, `${path}/${roleOf(w, layer)}`);
  }
  // Weights no layer lists (not made by tfjs-layers itself): by their own name, counters stripped.
  for (const w of model.weights) if (!byWeight.has(w)) claim(w, stripAutoCounters(w.originalName ?? w.name));
  return model.weights.map((w) => ({ name: byWeight.get(w)!, weight: w }));
}

/**
 * How the names of a file written before stable names (tfjs's own, `dense_Dense2/kernel`) map onto
 * `model`'s stable names, or null when they do not. An auto-named layer of the file is matched to
 * the model's layer of the same class in the same rank, counting by tfjs's counter (the order the
 * layers were created, which is the model order whenever the model was built in one go); an
 * explicitly named layer to the layer of that name. Only a complete, one-to-one match is returned.
 */
export function legacyRenames(model: LayersModelLike & { layers: readonly LayerLike[] }, fileNames: readonly string[]): Map<string, string> | null {
  const current = layerWeightNames(model);
  const want = new Set(current.map((c) => c.name));
  if (fileNames.every((n) => want.has(n))) return null;
  const leaves = layerPaths(model);
  // The model's auto-named leaf layers by class, in model order; explicitly named ones by name.
  const byClass = new Map<string, LayerPath[]>();
  const byName = new Map<string, LayerPath>();
  for (const lp of leaves) {
    const cls = lp.layer.getClassName();
    if (isAutoName(lp.layer)) byClass.set(cls, [...(byClass.get(cls) ?? []), lp]);
    else byName.set(lp.layer.name, lp);
  }
  // The file's layer names (its first path segment), auto ones grouped by class and ordered by counter.
  const fileLayers = new Map<string, { cls: string; uid: number }>();
  const explicitLayers = new Set<string>();
  for (const n of fileNames) {
    const layerName = n.split('/')[0];
    const m = AUTO_SEGMENT.exec(layerName);
    if (m && toSnakeCase(m[2]) === m[1]) fileLayers.set(layerName, { cls: m[2], uid: Number(m[3]) });
    else explicitLayers.add(layerName);
  }
  const layerMap = new Map<string, LayerPath>();
  const fileByClass = new Map<string, string[]>();
  for (const [name, { cls }] of fileLayers) fileByClass.set(cls, [...(fileByClass.get(cls) ?? []), name]);
  for (const [cls, names] of fileByClass) {
    const mine = byClass.get(cls) ?? [];
    if (mine.length !== names.length) return null;
    names.sort((a, b) => fileLayers.get(a)!.uid - fileLayers.get(b)!.uid).forEach((n, i) => layerMap.set(n, mine[i]));
  }
  for (const n of explicitLayers) {
    const lp = byName.get(n);
    if (!lp) return null;
    layerMap.set(n, lp);
  }
  const out = new Map<string, string>();
  const targets = new Set<string>();
  for (const n of fileNames) {
    const slash = n.indexOf('/');
    const lp = layerMap.get(slash < 0 ? n : n.slice(0, slash));
    if (!lp || slash < 0) return null;
    const to = `${lp.path}/${stripAutoCounters(n.slice(slash + 1))}`;
    if (!want.has(to) || targets.has(to)) return null;
    targets.add(to);
    out.set(n, to);
  }
  return out;
}

/** True for an object with tfjs-layers' `layers` list (a real LayersModel, not just something with weights). */
export function hasLayers(m: unknown): m is LayersModelLike & { layers: LayerLike[] } {
  const layers = (m as { layers?: unknown })?.layers;
  return Array.isArray(layers) && layers.every((l) => typeof (l as LayerLike)?.getClassName === 'function' && Array.isArray((l as LayerLike).weights));
}

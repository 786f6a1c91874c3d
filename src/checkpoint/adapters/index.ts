// The adapters safeckpt ships, and the lookup by architecture_type.
import { errorFor } from '../../errors.js';
import type { ArchitectureAdapter } from './adapter.js';
import { customTransformerAdapter } from './custom-transformer.js';
import { qwenAdapter } from './qwen.js';

/** The adapters safeckpt ships, by `architecture_type` (`custom-transformer`, `qwen`). */
export const BUILTIN_ADAPTERS: Readonly<Record<string, ArchitectureAdapter>> = {
  [customTransformerAdapter.architecture_type]: customTransformerAdapter,
  [qwenAdapter.architecture_type]: qwenAdapter,
};

/** The adapter for `type`: the caller's own first, then the built-in ones; UNSUPPORTED naming what exists. */
export function adapterFor(type: string, extra: readonly ArchitectureAdapter[] = []): ArchitectureAdapter {
  const found = extra.find((a) => a.architecture_type === type) ?? BUILTIN_ADAPTERS[type];
  if (!found) {
    const known = [...new Set([...extra.map((a) => a.architecture_type), ...Object.keys(BUILTIN_ADAPTERS)])];
    throw errorFor('UNSUPPORTED', `no adapter for architecture_type '${type}' (known: ${known.join(', ')}); pass one in the 'adapters' option`, {
      detail: 'ARCHITECTURE', data: { architecture_type: type, known },
    });
  }
  return found;
}

/**
 * The adapter for `type`, or the identity when none is registered for it: the file then holds the
 * model's own (stable) names, as for every model safeckpt has no mapping for.
 */
export function adapterOrIdentity(type: string, extra: readonly ArchitectureAdapter[] = []): ArchitectureAdapter {
  const found = extra.find((a) => a.architecture_type === type) ?? BUILTIN_ADAPTERS[type];
  return found ?? {
    architecture_type: type,
    description: `a model with the same layers (its weights are stored under the model's own names)`,
    toFile: (model) => model,
    fromFile: (file) => ({ ...file }),
  };
}

// Tensor names (and file names) are data from files: '__proto__', 'constructor'
// and 'toString' are valid tensor names. A plain `{}` keyed by them inherits
// from Object.prototype — `o['__proto__'] = x` changes the prototype instead of
// adding an entry, and `o['toString']` finds a function that was never stored.
// Every record keyed by names is made here, without a prototype.

/** An empty record with no prototype: every key is an own entry, never an inherited one. */
export function nameRecord<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

/** `o[k]` when `k` is an own entry of `o` (parsed JSON, a caller's object), else undefined. */
export function own<T>(o: Readonly<Record<string, T>> | null | undefined, k: string): T | undefined {
  return o != null && Object.prototype.hasOwnProperty.call(o, k) ? o[k] : undefined;
}

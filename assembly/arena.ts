// The arena a header parse writes into: records, dims, decoded strings and
// scratch, growing upward from just past the (zero-padded) header. Nothing is
// freed; every parse starts a new arena. When memory cannot grow, `oom` is set
// and the parse stops with E_NOMEM instead of trapping.
import { ensure } from './memory';

/** Zero bytes after the header: every 16-byte load from inside it stays readable, and a 0 marks the end. */
export const PAD: usize = 16;

export let base: usize = 0; // arena start
export let top: usize = 0; // arena end: the next free byte
let cap: usize = 0; // memory known to be addressable
export let oom = false;

/** Starts an empty arena at the first 8-byte boundary after `headerEnd` + PAD. False on OOM. */
export function startArena(headerEnd: usize): bool {
  base = (headerEnd + PAD + 7) & ~(7 as usize);
  top = base;
  cap = 0;
  oom = false;
  return room(0);
}

/** Makes sure `n` bytes (plus PAD, for 16-byte loads) are addressable at `top`. False on OOM. */
export function room(n: usize): bool {
  if (top + n + PAD <= cap) return true;
  if (!ensure(top + n + PAD)) { oom = true; return false; }
  cap = (memory.size() as usize) << 16;
  return true;
}

/** Rounds `top` up to the next 8-byte boundary. */
export function alignTop(): void {
  top = (top + 7) & ~(7 as usize);
}

// Writes to this machine's disk are noisy in a way that is not ours to
// measure: a new file written right after another was deleted waits for the
// discards and writeback of the old one (ext4 mounted with `discard`; the
// same 1 GiB baseline took 1.7 s or 4.3 s depending on what ran before it).
// So a timed write starts from the same state: its target removed, `sync`, a
// pause.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';

export const SETTLE_MS = Number(process.env.SAFECKPT_BENCH_SETTLE_MS ?? 3000);

/** Removes `paths` (files or folders), syncs, and waits SETTLE_MS. */
export function freshTarget(...paths) {
  for (const p of paths) rmSync(p, { recursive: true, force: true });
  spawnSync('sync');
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, SETTLE_MS);
}

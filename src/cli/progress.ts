// A progress bar on stderr for long operations, drawn from their onProgress
// ({ done, total, phase }: src/types/operation.ts), only when stderr is a
// terminal: pipes and logs stay clean. Redrawn at most ten times a second.
import type { Progress } from '../types/operation.js';

const WIDTH = 30;
const MIN_INTERVAL_MS = 100;

function mib(n: number): string {
  return (n / 1048576).toFixed(n < 10 * 1048576 ? 1 : 0);
}

/** An onProgress callback drawing `label`, and `done()` to clear it; both no-ops off a terminal. */
export function progressBar(label: string, stream: NodeJS.WriteStream = process.stderr): { onProgress?: (p: Progress) => void; done(): void } {
  if (!stream.isTTY) return { done() {} };
  let last = 0, drawn = false;
  const started = Date.now();
  return {
    onProgress({ done, total }: Progress) {
      const now = Date.now();
      if (now - last < MIN_INTERVAL_MS && done < total) return;
      last = now;
      const frac = total > 0 ? Math.min(1, done / total) : 1;
      const fill = Math.round(frac * WIDTH);
      const rate = done / Math.max(0.001, (now - started) / 1000);
      stream.write(`\r${label} [${'#'.repeat(fill)}${'.'.repeat(WIDTH - fill)}] ${(frac * 100).toFixed(0).padStart(3)}% ${mib(done)}/${mib(total)} MiB ${mib(rate)} MiB/s`);
      drawn = true;
    },
    done() {
      if (drawn) stream.write('\r\x1b[2K');
    },
  };
}

// The usage error every subcommand throws for bad arguments: main.ts prints it
// with the command's usage line (stderr; under --json also one JSON object on
// stdout) and exits with 2.
export class UsageError extends Error {}

/** Edit distance with adjacent swaps counted as one edit (`jsno` → `json`), for short names only. */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * The known name closest to a mistyped one, or undefined when none is close:
 * at most a third of its letters wrong (at least one), or a prefix of it
 * (`--dig` → `--digests`), as git and npm suggest.
 */
export function didYouMean(typed: string, known: readonly string[]): string | undefined {
  const bare = (s: string) => s.replace(/^-+/, '').toLowerCase();
  const t = bare(typed);
  if (!t) return undefined;
  let best: string | undefined, bestD = Infinity;
  for (const k of known) {
    const d = distance(t, bare(k));
    if (d < bestD) { best = k; bestD = d; }
  }
  if (best !== undefined && bestD <= Math.max(1, Math.floor(bare(best).length / 3))) return best;
  return known.find((k) => t.length >= 2 && bare(k).startsWith(t));
}

/** ` (did you mean X?)` or nothing. */
export function suggestion(typed: string, known: readonly string[]): string {
  const s = didYouMean(typed, known);
  return s ? ` (did you mean ${s}?)` : '';
}

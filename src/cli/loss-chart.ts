// A loss curve in the terminal: one column per step, rows from high loss to
// low. The reference run is drawn with '·', the interrupted-then-resumed run
// with '●' (or '▲' before the interruption); where both land on the same
// cell only the resumed mark shows, so an exact resume reads as one line of
// '●' with no '·' beside it. A '|' marks the step it resumed from.

export interface ChartSeries {
  /** Loss per step (index 0 = step 1). */
  reference: number[];
  /** step → loss, for the run that was interrupted (before) and resumed (after). */
  before: Map<number, number>;
  after: Map<number, number>;
  resumedAt: number;
}

export function lossChart(s: ChartSeries, height = 12): string {
  const all = [...s.reference, ...s.before.values(), ...s.after.values()].filter(Number.isFinite);
  const hi = Math.max(...all), lo = Math.min(...all);
  const row = (v: number) => Math.round(((hi - v) / (hi - lo || 1)) * (height - 1));
  const n = s.reference.length;
  const grid = Array.from({ length: height }, () => Array.from({ length: n }, () => ' '));
  s.reference.forEach((v, i) => { grid[row(v)][i] = '·'; });
  for (const [step, v] of s.before) grid[row(v)][step - 1] = '▲';
  for (const [step, v] of s.after) grid[row(v)][step - 1] = '●';
  const lines = grid.map((cells, r) => {
    const label = r === 0 ? hi.toFixed(3) : r === height - 1 ? lo.toFixed(3) : '';
    const withBar = cells.map((c, i) => (i === s.resumedAt && c === ' ' ? '|' : c));
    return `${label.padStart(7)} ┤${withBar.join('')}`;
  });
  const axis = `${''.padStart(7)} └${'─'.repeat(n)}`;
  // Every tenth step, its number ending under its column (a '+' under the fifths).
  const tickCells: string[] = Array.from({ length: n }, (_, i) => ((i + 1) % 5 === 0 ? '+' : ' '));
  for (let step = 10; step <= n; step += 10) {
    const label = String(step);
    for (let k = 0; k < label.length; k++) tickCells[step - label.length + k] = label[k];
  }
  const ticks = tickCells.join('');
  return [...lines, axis, `${'step'.padStart(7)}  ${ticks}`,
    `          · uninterrupted reference   ▲ before the kill   ● resumed from LATEST (step ${s.resumedAt})`].join('\n');
}

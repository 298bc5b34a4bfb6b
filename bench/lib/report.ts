/**
 * Console output of the end-to-end benchmarks: timestamped progress lines
 * while a scenario runs, and plain-text tables at the end (console.table
 * quotes strings and cannot align numbers, which makes results hard to paste
 * into the README).
 */
import { performance } from 'node:perf_hooks';

const started = performance.now();

/** Progress line: `[  12.3 s] message`, on stderr so stdout stays the report. */
export function progress(message: string): void {
  process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(1).padStart(7)} s] ${message}\n`);
}

export type Cell = string | number | boolean | null | undefined;

/** Renders rows as a Markdown table (right-aligned numbers), readable in a terminal and pasteable. */
export function table(rows: Array<Record<string, Cell>>): string {
  if (rows.length === 0) return '(no rows)';
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const text = (v: Cell): string => (v === undefined || v === null ? '–' : typeof v === 'number' ? formatNumber(v) : String(v));
  const cells = rows.map((r) => columns.map((c) => text(r[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => (row[i] as string).length)));
  const numeric = columns.map((c) => rows.every((r) => r[c] === undefined || r[c] === null || typeof r[c] === 'number'));
  const pad = (s: string, i: number) => (numeric[i] ? s.padStart(widths[i] as number) : s.padEnd(widths[i] as number));
  const line = (values: string[]) => `| ${values.map(pad).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (numeric[i] ? `${'-'.repeat(w + 1)}:` : `${'-'.repeat(w + 2)}`)).join('|')}|`;
  return [line(columns), rule, ...cells.map(line)].join('\n');
}

export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  const abs = Math.abs(v);
  return abs >= 100 ? v.toFixed(0) : abs >= 10 ? v.toFixed(1) : abs >= 1 ? v.toFixed(2) : v.toFixed(3);
}

export function round(v: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** Nearest-rank percentile of `values` (need not be sorted); NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

export const MiB = 1024 * 1024;

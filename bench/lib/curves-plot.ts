/**
 * The cost curves as one self-contained SVG (no script, nothing fetched, as
 * bench/lib/flamegraph.ts): small multiples, one panel per figure, x = the
 * BundleDeployments cached on a log scale, one line per series (scenario ×
 * system). Pure: numbers in, text out.
 */
import { escapeXml } from './flamegraph.ts';

export interface CurveSeries {
  /** e.g. "cold-start flotilla". */
  name: string;
  /** [BundleDeployments, value]; a null value is a gap (not measured or not converged). */
  points: Array<[number, number | null]>;
}

export interface CurvePanel {
  title: string;
  unit: string;
  series: CurveSeries[];
}

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2'];

/** Decades covering [min, max] (at least one), for the log x axis. */
export function logTicks(min: number, max: number): number[] {
  const lo = Math.floor(Math.log10(Math.max(1, min)));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(1, max))));
  return Array.from({ length: hi - lo + 1 }, (_, i) => 10 ** (lo + i));
}

/** A "nice" upper bound for a linear y axis starting at 0, and its ticks. */
export function linearTicks(max: number): number[] {
  if (!(max > 0)) return [0, 1];
  const step0 = 10 ** Math.floor(Math.log10(max / 4));
  const step = [1, 2, 5, 10].map((m) => m * step0).find((s) => max / s <= 5) ?? 10 * step0;
  const ticks: number[] = [];
  for (let v = 0; v < max + step - 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

function label(v: number): string {
  if (v >= 1_000_000) return `${v / 1_000_000}M`;
  if (v >= 1000) return `${v / 1000}k`;
  return String(Number(v.toPrecision(4)));
}

export function curvesSvg(panels: CurvePanel[], options: { title: string; subtitle?: string; columns?: number }): string {
  const columns = options.columns ?? 3;
  const pw = 380;
  const ph = 250;
  const m = { left: 60, right: 15, top: 30, bottom: 40 };
  const legendNames = [...new Set(panels.flatMap((p) => p.series.map((s) => s.name)))];
  const colour = (name: string) => COLOURS[legendNames.indexOf(name) % COLOURS.length] as string;
  const rows = Math.max(1, Math.ceil(panels.length / columns));
  const header = 60;
  const legendHeight = 20 * legendNames.length + 10;
  const width = columns * pw;
  const height = header + rows * ph + legendHeight;
  const xs = panels.flatMap((p) => p.series.flatMap((s) => s.points.map(([x]) => x)));
  const ticksX = logTicks(Math.min(...xs, 1000), Math.max(...xs, 1000));
  const [x0, x1] = [Math.log10(ticksX[0] as number), Math.log10(ticksX.at(-1) as number)];
  const out: string[] = [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="16">${escapeXml(options.title)}</text>`,
  ];
  if (options.subtitle) out.push(`<text x="${width / 2}" y="42" text-anchor="middle" fill="#555">${escapeXml(options.subtitle)}</text>`);
  panels.forEach((panel, i) => {
    const ox = (i % columns) * pw;
    const oy = header + Math.floor(i / columns) * ph;
    const w = pw - m.left - m.right;
    const h = ph - m.top - m.bottom;
    const values = panel.series.flatMap((s) => s.points.flatMap(([, v]) => (v === null || !Number.isFinite(v) ? [] : [v])));
    const ticksY = linearTicks(Math.max(0, ...values));
    const yMax = ticksY.at(-1) as number;
    const px = (x: number) => ox + m.left + ((Math.log10(x) - x0) / (x1 - x0)) * w;
    const py = (y: number) => oy + m.top + h - (y / yMax) * h;
    out.push(`<g class="panel" data-title="${escapeXml(panel.title)}">`);
    out.push(`<text x="${ox + m.left + w / 2}" y="${oy + 18}" text-anchor="middle" font-size="13">${escapeXml(panel.title)}${panel.unit ? ` (${escapeXml(panel.unit)})` : ''}</text>`);
    out.push(`<rect x="${ox + m.left}" y="${oy + m.top}" width="${w}" height="${h}" fill="none" stroke="#999"/>`);
    for (const t of ticksX) {
      out.push(`<line x1="${px(t).toFixed(1)}" y1="${oy + m.top}" x2="${px(t).toFixed(1)}" y2="${oy + m.top + h}" stroke="#eee"/>`);
      out.push(`<text x="${px(t).toFixed(1)}" y="${oy + m.top + h + 15}" text-anchor="middle">${label(t)}</text>`);
    }
    for (const t of ticksY) {
      out.push(`<line x1="${ox + m.left}" y1="${py(t).toFixed(1)}" x2="${ox + m.left + w}" y2="${py(t).toFixed(1)}" stroke="#eee"/>`);
      out.push(`<text x="${ox + m.left - 5}" y="${(py(t) + 4).toFixed(1)}" text-anchor="end">${label(t)}</text>`);
    }
    out.push(`<text x="${ox + m.left + w / 2}" y="${oy + ph - 8}" text-anchor="middle" fill="#555">BundleDeployments (log)</text>`);
    for (const s of panel.series) {
      const pts = s.points.filter((p): p is [number, number] => p[1] !== null && Number.isFinite(p[1])).sort((a, b) => a[0] - b[0]);
      if (pts.length === 0) continue;
      const c = colour(s.name);
      out.push(`<g class="series" data-series="${escapeXml(s.name)}">`);
      if (pts.length > 1) out.push(`<polyline fill="none" stroke="${c}" stroke-width="2" points="${pts.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ')}"/>`);
      for (const [x, y] of pts) out.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3" fill="${c}"><title>${escapeXml(`${s.name}: ${label(x)} BundleDeployments → ${Number(y.toPrecision(4))} ${panel.unit}`)}</title></circle>`);
      out.push('</g>');
    }
    out.push('</g>');
  });
  legendNames.forEach((name, i) => {
    const y = header + rows * ph + 10 + i * 20;
    out.push(`<line x1="20" y1="${y}" x2="50" y2="${y}" stroke="${colour(name)}" stroke-width="3"/><text x="58" y="${y + 4}">${escapeXml(name)}</text>`);
  });
  out.push('</svg>', '');
  return out.join('\n');
}

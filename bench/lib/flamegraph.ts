/**
 * Flame graphs from V8 CPU profiles (`node --cpu-prof`'s `.cpuprofile`), so
 * the profile of the controller's main thread needs neither clinic flame
 * (which stalls on the worker threads' V8 logs) nor a browser with internet
 * access: the output is one self-contained SVG (no scripts, no fonts or
 * styles fetched), plus the collapsed-stack text (`frame;frame;frame count`,
 * the format of flamegraph.pl, speedscope and inferno) for other tools.
 *
 * Weights are samples: V8 samples at a fixed interval, so a frame's width is
 * its share of the thread's sampled time. `(idle)` (the thread waiting in
 * the event loop) is left out of the graph and reported in its title, or
 * an idle thread's real work would be a sliver.
 */

/** The parts of the `.cpuprofile` format (Chrome DevTools Protocol `Profiler.Profile`) used here. */
export interface CpuProfile {
  nodes: Array<{
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number; columnNumber?: number };
    hitCount?: number;
    children?: number[];
  }>;
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface CollapsedStacks {
  /** "frame;frame;...;leaf" → samples whose stack that is. */
  stacks: Map<string, number>;
  /** Samples in the graph (idle excluded). */
  samples: number;
  idleSamples: number;
  /** Profile duration, microseconds. */
  durationUs: number;
}

const IDLE = '(idle)';

function frameName(frame: CpuProfile['nodes'][number]['callFrame']): string {
  const fn = frame.functionName || '(anonymous)';
  if (!frame.url) return fn;
  // Short, stable locations: repository-relative when under the repo's folders, else the file name.
  const path = frame.url.replace(/^file:\/\//, '');
  const inRepo = /\/(src|bench|node_modules|workers|test)\/.*$/.exec(path)?.[0].slice(1);
  const where = inRepo ?? path.slice(path.lastIndexOf('/') + 1);
  return `${fn} ${where}:${frame.lineNumber + 1}`;
}

/** Collapses a profile into stacks, root first, `(root)` left out; `;` in names is replaced so it stays the separator. */
export function collapseProfile(profile: CpuProfile): CollapsedStacks {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Sample counts per node: from `samples` when present (the exact record), else `hitCount`.
  const hits = new Map<number, number>();
  if (profile.samples && profile.samples.length > 0) {
    for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
  } else {
    for (const n of profile.nodes) if (n.hitCount) hits.set(n.id, n.hitCount);
  }
  const stackOf = new Map<number, string>();
  const pathOf = (id: number): string => {
    const cached = stackOf.get(id);
    if (cached !== undefined) return cached;
    const frames: string[] = [];
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const node = byId.get(cur);
      if (!node || (node.callFrame.functionName === '(root)' && !parent.has(cur))) continue;
      frames.push(frameName(node.callFrame).replaceAll(';', ','));
    }
    const stack = frames.reverse().join(';');
    stackOf.set(id, stack);
    return stack;
  };
  const stacks = new Map<string, number>();
  let samples = 0;
  let idleSamples = 0;
  for (const [id, n] of hits) {
    const stack = pathOf(id);
    if (stack === '' || stack === IDLE) {
      idleSamples += n;
      continue;
    }
    stacks.set(stack, (stacks.get(stack) ?? 0) + n);
    samples += n;
  }
  return { stacks, samples, idleSamples, durationUs: profile.endTime - profile.startTime };
}

/** The collapsed-stack text: one `stack count` line per stack, sorted. */
export function collapsedText(c: CollapsedStacks): string {
  return [...c.stacks].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([s, n]) => `${s} ${n}\n`).join('');
}

interface Frame {
  name: string;
  value: number;
  children: Map<string, Frame>;
}

function tree(c: CollapsedStacks): Frame {
  const root: Frame = { name: 'all', value: 0, children: new Map() };
  for (const [stack, n] of c.stacks) {
    root.value += n;
    let node = root;
    for (const name of stack.split(';')) {
      let child = node.children.get(name);
      if (!child) {
        child = { name, value: 0, children: new Map() };
        node.children.set(name, child);
      }
      child.value += n;
      node = child;
    }
  }
  return root;
}

export const escapeXml = (s: string) => s.replace(/[<>&"']/g, (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[ch] as string);

/** A warm colour per frame name (stable across renders), greyish for V8's own pseudo-frames. */
function colour(name: string): string {
  if (/^\([a-z ]+\)$/.test(name)) return 'rgb(190,190,190)';
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
  const node = name.includes('node_modules') ? 1 : name.includes('node:') ? 2 : 0;
  const r = [205, 120, 180][node] as number + (h % 50);
  const g = [80, 160, 120][node] as number + ((h >> 8) % 90);
  const b = [40, 200, 60][node] as number + ((h >> 16) % 40);
  return `rgb(${Math.min(r, 255)},${Math.min(g, 255)},${Math.min(b, 255)})`;
}

export interface FlameGraphOptions {
  title: string;
  width?: number;
  frameHeight?: number;
  /** Frames narrower than this many pixels are not drawn (their time stays in the parent's width). */
  minWidthPx?: number;
}

/** Renders the stacks as a classic flame graph (root at the bottom), hover titles on every frame. */
export function flameGraphSvg(c: CollapsedStacks, options: FlameGraphOptions): string {
  const width = options.width ?? 1200;
  const frameHeight = options.frameHeight ?? 16;
  const minWidth = options.minWidthPx ?? 0.3;
  const pad = 10;
  const root = tree(c);
  const total = Math.max(1, root.value);
  const scale = (width - 2 * pad) / total;
  const rects: Array<{ x: number; depth: number; w: number; f: Frame }> = [];
  let maxDepth = 0;
  const layout = (f: Frame, x: number, depth: number) => {
    const w = f.value * scale;
    if (w < minWidth) return;
    rects.push({ x, depth, w, f });
    maxDepth = Math.max(maxDepth, depth);
    let cx = x;
    for (const child of [...f.children.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      layout(child, cx, depth + 1);
      cx += child.value * scale;
    }
  };
  layout(root, pad, 0);
  const top = 50;
  const height = top + (maxDepth + 1) * frameHeight + pad;
  const y = (depth: number) => height - pad - (depth + 1) * frameHeight;
  const ms = (samples: number) => (c.samples + c.idleSamples > 0 ? (samples / (c.samples + c.idleSamples)) * (c.durationUs / 1000) : 0);
  const charWidth = 6.5;
  const body = rects.map(({ x, depth, w, f }) => {
    const pct = ((f.value / total) * 100).toFixed(2);
    const label = w > 3 * charWidth ? fit(f.name, Math.floor((w - 6) / charWidth)) : '';
    return (
      `<g><title>${escapeXml(f.name)} — ${f.value} samples, ${pct}%, ~${ms(f.value).toFixed(0)} ms</title>` +
      `<rect x="${x.toFixed(2)}" y="${y(depth)}" width="${Math.max(0.1, w - 0.5).toFixed(2)}" height="${frameHeight - 1}" rx="2" fill="${f === root ? 'rgb(230,230,230)' : colour(f.name)}"/>` +
      (label ? `<text x="${(x + 3).toFixed(2)}" y="${y(depth) + frameHeight - 4}">${escapeXml(label)}</text>` : '') +
      '</g>'
    );
  });
  const idlePct = c.samples + c.idleSamples > 0 ? ((c.idleSamples / (c.samples + c.idleSamples)) * 100).toFixed(1) : '0';
  const subtitle = `${c.samples} samples on CPU (~${ms(c.samples).toFixed(0)} ms), ${c.idleSamples} idle (${idlePct}%, not drawn), profile ${(c.durationUs / 1e6).toFixed(1)} s`;
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="monospace" font-size="11">`,
    `<rect width="100%" height="100%" fill="rgb(250,250,245)"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="15">${escapeXml(options.title)}</text>`,
    `<text x="${width / 2}" y="38" text-anchor="middle" fill="rgb(90,90,90)">${escapeXml(subtitle)}</text>`,
    ...body,
    `</svg>`,
    '',
  ].join('\n');
}

function fit(text: string, chars: number): string {
  if (text.length <= chars) return text;
  return chars <= 2 ? '' : `${text.slice(0, chars - 2)}..`;
}

/**
 * Which `.cpuprofile` files are main threads: Node names them
 * `CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile`, the main thread
 * being thread 0 (workers count from 1).
 */
export function isMainThreadProfile(fileName: string): boolean {
  const m = /^CPU\.\d+\.\d+\.\d+\.(\d+)\.\d+\.cpuprofile$/.exec(fileName);
  return m !== null && m[1] === '0';
}

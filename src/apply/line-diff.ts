/**
 * A unified diff of two texts (`diff -u` format), for `flotilla apply
 * --diff`: Myers' O(ND) algorithm on the lines between the common prefix and
 * suffix. Texts that differ almost everywhere (more than `MAX_EDITS` edits)
 * are shown as the whole middle removed and added, which bounds the work on
 * a megabyte manifest; the diff is then longer, never wrong.
 */

export type Edit = { op: '=' | '-' | '+'; line: string };

const MAX_EDITS = 2000;
const CONTEXT = 3;

export function lineDiff(a: readonly string[], b: readonly string[]): Edit[] {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const head = a.slice(0, start).map((line): Edit => ({ op: '=', line }));
  const tail = a.slice(endA).map((line): Edit => ({ op: '=', line }));
  const middleA = a.slice(start, endA);
  const middleB = b.slice(start, endB);
  const middle = myers(middleA, middleB) ?? [
    ...middleA.map((line): Edit => ({ op: '-', line })),
    ...middleB.map((line): Edit => ({ op: '+', line })),
  ];
  return [...head, ...middle, ...tail];
}

/** The shortest edit script, or undefined when it needs more than MAX_EDITS edits. */
function myers(a: readonly string[], b: readonly string[]): Edit[] | undefined {
  const n = a.length;
  const m = b.length;
  if (n === 0 || m === 0) return [...a.map((line): Edit => ({ op: '-', line })), ...b.map((line): Edit => ({ op: '+', line }))];
  const max = Math.min(n + m, MAX_EDITS);
  // v[k + offset] = furthest x on diagonal k; trace[d] keeps v for k in [-d, d] after step d.
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  for (let d = 0; d <= max; d++) {
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && (v[k - 1 + offset] ?? 0) < (v[k + 1 + offset] ?? 0)) ? (v[k + 1 + offset] ?? 0) : (v[k - 1 + offset] ?? 0) + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[k + offset] = x;
      if (x >= n && y >= m) {
        trace.push(v.slice(offset - d, offset + d + 1));
        return backtrack(a, b, trace);
      }
    }
    trace.push(v.slice(offset - d, offset + d + 1));
  }
  return undefined;
}

function backtrack(a: readonly string[], b: readonly string[], trace: readonly Int32Array[]): Edit[] {
  const edits: Edit[] = [];
  let x = a.length;
  let y = b.length;
  for (let d = trace.length - 1; d > 0; d--) {
    const previous = trace[d - 1] as Int32Array;
    const at = (k: number) => previous[k + d - 1] ?? 0;
    const k = x - y;
    const down = k === -d || (k !== d && at(k - 1) < at(k + 1));
    const prevK = down ? k + 1 : k - 1;
    const prevX = at(prevK);
    const prevY = prevX - prevK;
    while (x > (down ? prevX : prevX + 1) && y > (down ? prevY + 1 : prevY)) {
      edits.push({ op: '=', line: a[x - 1] as string });
      x--;
      y--;
    }
    if (down) {
      edits.push({ op: '+', line: b[y - 1] as string });
      y--;
    } else {
      edits.push({ op: '-', line: a[x - 1] as string });
      x--;
    }
  }
  while (x > 0 && y > 0) {
    edits.push({ op: '=', line: a[x - 1] as string });
    x--;
    y--;
  }
  return edits.reverse();
}

/** `diff -u` output for two texts; '' when they are equal. An absent side is /dev/null. */
export function unifiedDiff(before: string | undefined, after: string | undefined, beforeLabel: string, afterLabel: string): string {
  if (before === after) return '';
  const a = splitLines(before);
  const b = splitLines(after);
  const edits = lineDiff(a, b);
  const out = [`--- ${before === undefined ? '/dev/null' : beforeLabel}`, `+++ ${after === undefined ? '/dev/null' : afterLabel}`];
  // Positions (0-based) in a and b before each edit.
  const positions: Array<{ a: number; b: number }> = [];
  let ia = 0;
  let ib = 0;
  for (const edit of edits) {
    positions.push({ a: ia, b: ib });
    if (edit.op !== '+') ia++;
    if (edit.op !== '-') ib++;
  }
  let i = 0;
  while (i < edits.length) {
    if (edits[i]?.op === '=') {
      i++;
      continue;
    }
    // A hunk: from CONTEXT lines before this change to CONTEXT lines after the last change within reach.
    const first = Math.max(0, i - CONTEXT);
    let last = i;
    for (let j = i; j < edits.length; j++) {
      if (edits[j]?.op !== '=') last = j;
      else if (j - last > 2 * CONTEXT) break;
    }
    const end = Math.min(edits.length, last + CONTEXT + 1);
    const hunk = edits.slice(first, end);
    const startA = positions[first]?.a ?? 0;
    const startB = positions[first]?.b ?? 0;
    const countA = hunk.filter((e) => e.op !== '+').length;
    const countB = hunk.filter((e) => e.op !== '-').length;
    out.push(`@@ -${range(startA, countA)} +${range(startB, countB)} @@`);
    for (const edit of hunk) out.push(`${edit.op === '=' ? ' ' : edit.op}${edit.line}`);
    i = end;
  }
  return `${out.join('\n')}\n`;
}

/** diff's convention: "start,count", 1-based, with an empty range at the line before it. */
function range(start: number, count: number): string {
  if (count === 0) return `${start},0`;
  return count === 1 ? `${start + 1}` : `${start + 1},${count}`;
}

function splitLines(text: string | undefined): string[] {
  if (text === undefined || text === '') return [];
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

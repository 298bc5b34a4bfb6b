/**
 * Scraping a process's Prometheus `/metrics` endpoint in tests: fetch, parse
 * the text exposition format (0.0.4) into samples, and sum series by label.
 *
 *   const m = await scrapeMetrics(flotilla.metricsUrl);
 *   m.sum('flotilla_writes_total', { kind: 'BundleDeployment', verb: ['create', 'apply'] });
 *
 * Free of Kubernetes imports so unit tests can use it too.
 */

export interface Sample {
  /** Sample name as exposed, e.g. `workqueue_work_duration_seconds_bucket`. */
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * How a label is matched in a filter: an exact value, one of several values,
 * a regular expression (tested against the whole value), or a predicate.
 * `undefined` and `null` select series that do not carry the label.
 */
export type LabelMatcher = string | readonly string[] | RegExp | ((value: string) => boolean) | null | undefined;
export type LabelFilter = Record<string, LabelMatcher>;

export class Metrics {
  readonly samples: readonly Sample[];

  constructor(samples: readonly Sample[]) {
    this.samples = samples;
  }

  /** Samples named `name` whose labels match every entry of `filter`. */
  series(name: string, filter: LabelFilter = {}): Sample[] {
    return this.samples.filter((s) => s.name === name && matchesFilter(s.labels, filter));
  }

  /** Sum of the matching samples' values; 0 when none match (a counter never incremented). */
  sum(name: string, filter: LabelFilter = {}): number {
    let total = 0;
    for (const s of this.series(name, filter)) total += s.value;
    return total;
  }

  /** Whether any sample is named `name` (e.g. to tell "0" from "not exposed"). */
  has(name: string): boolean {
    return this.samples.some((s) => s.name === name);
  }

  /**
   * Sums grouped by the given label keys, e.g. `groupBy('flotilla_writes_total', ['kind', 'verb'])`
   * → `{ 'BundleDeployment,apply': 500, ... }`. Keys join label values with ",".
   */
  groupBy(name: string, keys: readonly string[], filter: LabelFilter = {}): Record<string, number> {
    const out: Record<string, number> = {};
    for (const s of this.series(name, filter)) {
      const key = keys.map((k) => s.labels[k] ?? '').join(',');
      out[key] = (out[key] ?? 0) + s.value;
    }
    return out;
  }
}

function matchesFilter(labels: Record<string, string>, filter: LabelFilter): boolean {
  for (const [key, matcher] of Object.entries(filter)) {
    const value = labels[key];
    if (matcher === undefined || matcher === null) {
      if (value !== undefined) return false;
      continue;
    }
    if (value === undefined) return false;
    if (typeof matcher === 'string') {
      if (value !== matcher) return false;
    } else if (matcher instanceof RegExp) {
      const whole = new RegExp(`^(?:${matcher.source})$`, matcher.flags.replace(/[gy]/g, ''));
      if (!whole.test(value)) return false;
    } else if (typeof matcher === 'function') {
      if (!matcher(value)) return false;
    } else if (!matcher.includes(value)) {
      return false;
    }
  }
  return true;
}

/**
 * Difference of two scrapes of the same process, summed: `after - before`.
 * Counters only grow, so a negative result means the process restarted.
 */
export function delta(before: Metrics, after: Metrics, name: string, filter: LabelFilter = {}): number {
  return after.sum(name, filter) - before.sum(name, filter);
}

/** Per-group differences of two scrapes (see `Metrics.groupBy`), leaving out groups that did not change. */
export function groupDelta(
  before: Metrics,
  after: Metrics,
  name: string,
  keys: readonly string[],
  filter: LabelFilter = {},
): Record<string, number> {
  const a = after.groupBy(name, keys, filter);
  const b = before.groupBy(name, keys, filter);
  const out: Record<string, number> = {};
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const d = (a[key] ?? 0) - (b[key] ?? 0);
    if (d !== 0) out[key] = d;
  }
  return out;
}

/** Fetches `url` (a `/metrics` endpoint) and parses it. Throws on a non-200 answer. */
export async function scrapeMetrics(url: string, options: { timeoutMs?: number } = {}): Promise<Metrics> {
  const response = await fetch(url, { signal: AbortSignal.timeout(options.timeoutMs ?? 10_000) });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`GET ${url}: HTTP ${response.status}: ${text.slice(0, 200)}`);
  return parseMetrics(text);
}

/**
 * Parses the Prometheus text exposition format: `# HELP`/`# TYPE` comments
 * are skipped, each other line is `name{label="value",...} value [timestamp]`
 * with `\\`, `\"` and `\n` escapes in label values, and values that may be
 * `NaN`, `+Inf` or `-Inf` (in any case).
 */
export function parseMetrics(text: string): Metrics {
  const samples: Sample[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line === '' || line.startsWith('#')) continue;
    try {
      samples.push(parseSampleLine(line));
    } catch (error) {
      throw new Error(`metrics line ${i + 1}: ${(error as Error).message}: ${line.slice(0, 200)}`);
    }
  }
  return new Metrics(samples);
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

function parseSampleLine(line: string): Sample {
  const nameMatch = NAME.exec(line);
  if (!nameMatch) throw new Error('expected a metric name');
  const name = nameMatch[0];
  let pos = name.length;
  const labels: Record<string, string> = {};
  if (line[pos] === '{') {
    pos++;
    for (;;) {
      pos = skipSpaces(line, pos);
      if (line[pos] === '}') {
        pos++;
        break;
      }
      const labelMatch = LABEL_NAME.exec(line.slice(pos));
      if (!labelMatch) throw new Error(`expected a label name at column ${pos + 1}`);
      const labelName = labelMatch[0];
      pos = skipSpaces(line, pos + labelName.length);
      if (line[pos] !== '=') throw new Error(`expected "=" after label ${labelName}`);
      pos = skipSpaces(line, pos + 1);
      if (line[pos] !== '"') throw new Error(`expected a quoted value for label ${labelName}`);
      pos++;
      let value = '';
      for (;;) {
        const ch = line[pos];
        if (ch === undefined) throw new Error(`unterminated value of label ${labelName}`);
        if (ch === '"') {
          pos++;
          break;
        }
        if (ch === '\\') {
          const next = line[pos + 1];
          value += next === 'n' ? '\n' : (next ?? '');
          pos += 2;
          continue;
        }
        value += ch;
        pos++;
      }
      labels[labelName] = value;
      pos = skipSpaces(line, pos);
      if (line[pos] === ',') pos++;
    }
  }
  const rest = line.slice(pos).trim().split(/\s+/);
  const raw = rest[0];
  if (raw === undefined || raw === '') throw new Error('missing value');
  return { name, labels, value: parseValue(raw) };
}

function skipSpaces(line: string, pos: number): number {
  while (line[pos] === ' ' || line[pos] === '\t') pos++;
  return pos;
}

/** Like Go's strconv.ParseFloat, which Prometheus uses: NaN and Inf in any case (prom-client writes `Nan`). */
function parseValue(raw: string): number {
  const lower = raw.toLowerCase();
  if (lower === 'nan') return Number.NaN;
  if (lower === '+inf' || lower === 'inf' || lower === '+infinity' || lower === 'infinity') return Number.POSITIVE_INFINITY;
  if (lower === '-inf' || lower === '-infinity') return Number.NEGATIVE_INFINITY;
  const value = Number(raw);
  if (Number.isNaN(value)) throw new Error(`invalid value ${JSON.stringify(raw)}`);
  return value;
}

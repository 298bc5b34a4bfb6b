import { test } from 'node:test';
import assert from 'node:assert/strict';
import { globSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_DIR, readYamlDocuments, REPO_ROOT } from './kustomize.ts';
import { createRegistry } from '../../../src/observability/metrics.ts';

/**
 * The dashboard and the alerts must query metrics the controller documents
 * (README, "Metrics"): a renamed metric would otherwise leave an empty panel
 * or an alert that can never fire.
 */

/** Metric names in backticks in the README's Metrics section (label hints like `{path=...}` stripped). */
export function documentedMetrics(readme: string): Set<string> {
  const start = readme.indexOf('\n## Metrics');
  assert.ok(start >= 0, 'README has a "## Metrics" section');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const names = new Set<string>();
  for (const [, code] of section.matchAll(/`([^`]+)`/g)) {
    const name = (code ?? '').replace(/\{.*$/, '');
    if (/^[a-z_][a-z0-9_]*_[a-z0-9_]+$/.test(name) && /_(total|seconds|depth|workers|reconciles|keys|status|flight|objects|threads|limit|bytes|successful|fds|handles|info)$/.test(name)) names.add(name);
  }
  return names;
}

const PROMQL_WORDS = new Set([
  'sum', 'min', 'max', 'avg', 'count', 'stddev', 'stdvar', 'topk', 'bottomk', 'quantile', 'count_values', 'group',
  'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset',
  'rate', 'irate', 'increase', 'delta', 'idelta', 'deriv', 'histogram_quantile', 'clamp_min', 'clamp_max', 'abs', 'absent',
  'time', 'timestamp', 'vector', 'scalar', 'changes', 'resets', 'label_replace', 'label_join', 'sort', 'sort_desc',
  'avg_over_time', 'max_over_time', 'min_over_time', 'sum_over_time', 'count_over_time', 'last_over_time', 'humanize', 'humanizePercentage',
  'inf', 'nan', 'e',
]);
/** Metrics Prometheus itself provides. */
const BUILTIN = new Set(['up']);
const HISTOGRAM_SUFFIXES = ['_bucket', '_sum', '_count'];

/** Metric names a PromQL expression selects. */
export function metricsInExpr(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""') // strings
    .replace(/\{[^}]*\}/g, '') // label matchers
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '') // grouping labels
    .replace(/\[[^\]]*\]/g, '') // range selectors
    .replace(/\$\w+|\$\{\w+\}/g, ''); // Grafana variables
  const names = new Set<string>();
  for (const [word] of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    if (PROMQL_WORDS.has(word) || /^[0-9]/.test(word)) continue;
    names.add(word);
  }
  return [...names];
}

function baseName(metric: string, documented: Set<string>): string {
  if (documented.has(metric)) return metric;
  const suffix = HISTOGRAM_SUFFIXES.find((s) => metric.endsWith(s));
  return suffix ? metric.slice(0, -suffix.length) : metric;
}

const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
const documented = documentedMetrics(readme);

test('the README Metrics section lists the metric names (sanity check of the parser)', () => {
  for (const name of [
    'workqueue_depth', 'controller_runtime_reconcile_total', 'leader_election_master_status', 'flotilla_pool_tasks_total',
    'flotilla_config_reloads_total', 'flotilla_config_last_reload_successful', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_p99_seconds',
  ]) {
    assert.ok(documented.has(name), `${name} in ${[...documented].join(', ')}`);
  }
  assert.deepEqual(metricsInExpr('histogram_quantile(0.99, sum by (le, name) (rate(workqueue_queue_duration_seconds_bucket{pod=~"$pod"}[5m])))'), [
    'workqueue_queue_duration_seconds_bucket',
  ]);
});

interface Panel {
  title?: string;
  type?: string;
  targets?: Array<{ expr?: string }>;
  panels?: Panel[];
}

test('the Grafana dashboard parses and queries only metrics documented in the README', () => {
  const dashboard = JSON.parse(readFileSync(join(CONFIG_DIR, 'grafana', 'flotilla-dashboard.json'), 'utf8')) as {
    title: string;
    uid: string;
    panels: Panel[];
    templating?: { list: Array<{ query?: string | { query?: string } }> };
  };
  assert.ok(dashboard.title && dashboard.uid);
  const exprs: Array<{ where: string; expr: string }> = [];
  const walk = (panels: Panel[]) => {
    for (const p of panels) {
      for (const t of p.targets ?? []) if (t.expr) exprs.push({ where: `panel "${p.title}"`, expr: t.expr });
      walk(p.panels ?? []);
    }
  };
  walk(dashboard.panels);
  for (const v of dashboard.templating?.list ?? []) {
    const q = typeof v.query === 'string' ? v.query : v.query?.query;
    const inner = q?.match(/^label_values\((.*),\s*\w+\)$/)?.[1];
    if (inner) exprs.push({ where: 'a template variable', expr: inner });
  }
  assert.ok(exprs.length >= 20, `expected a real dashboard, found ${exprs.length} queries`);
  const queried = new Set<string>();
  const unknown: string[] = [];
  for (const { where, expr } of exprs) {
    const names = metricsInExpr(expr);
    assert.ok(names.length > 0, `${where} queries no metric: ${expr}`);
    for (const name of names) {
      const base = baseName(name, documented);
      queried.add(base);
      if (!documented.has(base)) unknown.push(`${name} (${where})`);
    }
  }
  assert.deepEqual(unknown, [], `the dashboard queries metrics the README does not document`);
  // Every documented metric has a panel.
  assert.deepEqual([...documented].filter((m) => !queried.has(m)), [], 'documented metrics without a panel');
});

test('the PrometheusRule alerts query only metrics documented in the README, and include the required alerts', () => {
  const [rule] = readYamlDocuments(join(CONFIG_DIR, 'prometheus', 'rules.yaml')) as Array<{
    spec: { groups: Array<{ rules: Array<{ alert?: string; expr: string; labels?: { severity?: string } }> }> };
  }>;
  const rules = rule?.spec.groups.flatMap((g) => g.rules) ?? [];
  const unknown: string[] = [];
  const queried = new Set<string>();
  for (const r of rules) {
    assert.ok(r.labels?.severity, `${r.alert} has a severity`);
    for (const name of metricsInExpr(r.expr)) {
      const base = baseName(name, documented);
      queried.add(base);
      if (!documented.has(base) && !BUILTIN.has(base)) unknown.push(`${name} (${r.alert})`);
    }
  }
  assert.deepEqual(unknown, []);
  for (const m of ['controller_runtime_reconcile_errors_total', 'flotilla_dead_letter_keys', 'workqueue_depth', 'flotilla_reflector_relists_total', 'leader_election_master_status']) {
    assert.ok(queried.has(m), `an alert on ${m}`);
  }
  const noLeader = rules.find((r) => r.expr.includes('leader_election_master_status'));
  assert.match(noLeader?.expr.replace(/\{[^}]*\}/g, '') ?? '', /max\(leader_election_master_status\)\s*==\s*0/);
});

test('every metric the README documents is exported: registered in the source, or one of prom-client\'s default metrics', async () => {
  const source = globSync('src/**/*.ts', { cwd: REPO_ROOT })
    .map((file) => readFileSync(join(REPO_ROOT, file), 'utf8'))
    .join('\n');
  const defaults = new Set((await createRegistry().getMetricsAsJSON()).map((m) => m.name));
  const missing = [...documented].filter((name) => !defaults.has(name) && !source.includes(`'${name}'`));
  assert.deepEqual(missing, [], 'documented metrics that nothing registers');
});

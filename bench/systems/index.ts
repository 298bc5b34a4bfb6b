/**
 * The systems a scenario measures, each started as its own process with the
 * same kubeconfig (the RBAC-bound controller user, so API Priority and
 * Fairness treats them alike) and the settings printed in the report:
 *
 *  flotilla  `node src/main.ts` with the shipped config plus the run's
 *            concurrency and QPS;
 *  direct    bench/baselines/direct.ts: the minimal writes at the same
 *            concurrency and QPS (the physical limit);
 *  direct-go bench/baselines/direct-go: the same minimal writes from a Go
 *            program on client-go (HTTP/2, no client-side rate limit), the
 *            limit of the API server without Node's HTTP client in the way;
 *  naive     bench/baselines/naive.ts: Fleet's pre-#3245 behaviour, 50 workers
 *            and 20 req/s (burst 30) by definition.
 *
 * A **variant** (`--variant NAME:path=value,...`) is flotilla with config
 * overrides under its own name, so a before/after of one setting runs in one
 * command on one control plane: `--variant http1:api.transport=http1
 * --systems flotilla,http1,direct`.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify as stringifyYaml } from 'yaml';
import { deepMerge, testConfig } from '../../test/support/flotilla.ts';
import { CONTROLLER_NODE_OPTIONS } from '../../src/runtime/node-options.ts';
import type { Metrics } from '../../test/support/metrics.ts';
import { ensureDirectGoBinary } from '../lib/go-baseline.ts';
import { histogramQuantileDelta } from '../lib/histogram.ts';
import { launchSystem, type LaunchWrapper, type SystemProcess } from '../lib/launch.ts';
import { progress } from '../lib/report.ts';

export const SYSTEM_NAMES = ['flotilla', 'direct', 'direct-go', 'naive'] as const;
/** What a system is; a variant's kind is `flotilla`. */
export type SystemKind = (typeof SYSTEM_NAMES)[number];
/** A built-in system or a variant's name. */
export type SystemName = string;

/** Config overrides by dotted path (`api.transport` → 'http1'). */
export type VariantOverrides = Record<string, unknown>;

/**
 * `NAME:path=value[,path=value...]`: values are JSON when they parse as JSON
 * (numbers, booleans, quoted strings), plain strings otherwise.
 */
export function parseVariant(text: string): { name: string; overrides: VariantOverrides } {
  const colon = text.indexOf(':');
  const name = colon < 0 ? '' : text.slice(0, colon).trim();
  if (!/^[a-z][a-z0-9-]*$/.test(name)) throw new Error(`--variant ${JSON.stringify(text)}: expected NAME:path=value[,path=value...] with NAME in lower case letters, digits and dashes`);
  if ((SYSTEM_NAMES as readonly string[]).includes(name)) throw new Error(`--variant ${name}: the name of a built-in system`);
  const overrides: VariantOverrides = {};
  for (const pair of text.slice(colon + 1).split(',')) {
    const eq = pair.indexOf('=');
    const path = eq < 0 ? '' : pair.slice(0, eq).trim();
    if (!/^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)*$/.test(path)) throw new Error(`--variant ${name}: ${JSON.stringify(pair)} is not path=value (a dotted config path, e.g. api.transport=http1)`);
    const raw = pair.slice(eq + 1).trim();
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // a plain string
    }
    overrides[path] = value;
  }
  return { name, overrides };
}

/** `{ 'api.transport': 'http1' }` → `{ api: { transport: 'http1' } }`. */
export function nestOverrides(overrides: VariantOverrides): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [path, value] of Object.entries(overrides)) {
    const parts = path.split('.');
    let node = out;
    for (const part of parts.slice(0, -1)) node = (node[part] ??= {}) as Record<string, unknown>;
    node[parts.at(-1)!] = value;
  }
  return out;
}

/** The kind of a system named in --systems: a built-in, or flotilla for a variant. */
export function systemKind(name: SystemName, run: RunSettings): SystemKind {
  if ((SYSTEM_NAMES as readonly string[]).includes(name)) return name as SystemKind;
  if (run.variants?.[name]) return 'flotilla';
  throw new Error(`unknown system ${JSON.stringify(name)}`);
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface RunSettings {
  /** Reconciles (flotilla) / writes (direct) in flight. */
  concurrency: number;
  /** Client-side QPS; 0 = unlimited. */
  qps: number;
  burst: number;
  /** label-flip --agents: direct writes each new BundleDeployment's summaries once, when the agent reports it ready. */
  agents?: boolean;
  /** Flotilla variants by name (--variant). */
  variants?: Record<string, VariantOverrides>;
}

export interface SystemSpec {
  name: SystemName;
  kind: SystemKind;
  settings: Record<string, number | string>;
  start(options: { kubeconfig: string; label?: string; wrap?: LaunchWrapper }): Promise<SystemProcess>;
  /** System-specific figures from a metrics delta (Flotilla's reconciles, pool tasks, ...). */
  extra(before: Metrics, after: Metrics): Record<string, number>;
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;
const d = (before: Metrics, after: Metrics, name: string, filter: Parameters<Metrics['sum']>[1] = {}) => after.sum(name, filter) - before.sum(name, filter);

export function systemSpec(name: SystemName, run: RunSettings): SystemSpec {
  const node = process.execPath;
  const kind = systemKind(name, run);
  switch (kind) {
    case 'flotilla': {
      const overrides = run.variants?.[name] ?? {};
      const settings = { maxConcurrentReconciles: run.concurrency, qps: run.qps, burst: run.burst, poolThreads: 'auto', ...stringValues(overrides) };
      return {
        name,
        kind,
        settings,
        start({ kubeconfig, label, wrap }) {
          const dir = mkdtempSync(join(tmpdir(), 'bench-flotilla-'));
          const configPath = join(dir, 'flotilla.yaml');
          writeFileSync(
            configPath,
            stringifyYaml(
              testConfig(
                deepMerge(
                  { concurrency: { maxConcurrentReconciles: run.concurrency }, api: { qps: run.qps, burst: run.burst }, log: { level: 'info' } },
                  nestOverrides(overrides),
                ),
              ),
            ),
          );
          return launchSystem({
            name: label ?? name,
            dir,
            wrap,
            // --expose-gc: the controller then offers settled heap readings on SIGUSR2 (bench/lib/memory.ts).
            // NODE_OPTIONS: the V8 settings the Deployment gives the controller.
            command: {
              binary: node,
              args: ['--expose-gc', join(ROOT, 'src/main.ts'), '--kubeconfig', kubeconfig, '--config', configPath],
              env: { NODE_OPTIONS: [process.env.NODE_OPTIONS, CONTROLLER_NODE_OPTIONS].filter(Boolean).join(' ') },
            },
          });
        },
        extra: (b, a) => {
          const bundleReconciles = d(b, a, 'controller_runtime_reconcile_total', { controller: 'bundle' });
          const mainThreadCpuSeconds = d(b, a, 'flotilla_main_thread_cpu_seconds_total');
          const placementSteps = d(b, a, 'flotilla_bundle_placement_main_thread_seconds_count');
          return {
            reconciles: d(b, a, 'controller_runtime_reconcile_total'),
            bundleReconciles,
            poolTasks: d(b, a, 'flotilla_pool_tasks_total', { path: 'pooled' }),
            inlineMatches: d(b, a, 'flotilla_pool_tasks_total', { path: 'inline' }),
            placementPlansPooled: d(b, a, 'flotilla_placement_plans_total', { path: 'pooled' }),
            placementPlansInline: d(b, a, 'flotilla_placement_plans_total', { path: 'inline' }),
            coalescedEvents: d(b, a, 'flotilla_workqueue_coalesced_total'),
            // The adaptive limit backing off (docs/architecture.md#concurrency): fewer writes in flight.
            concurrencyLimitDecreases: d(b, a, 'flotilla_reconcile_concurrency_limit_decreases_total'),
            concurrencyLimitAtEnd: a.sum('flotilla_reconcile_concurrency_limit'),
            // The main thread's CPU in the window over the Bundle reconciles in it (everything else it did included).
            mainThreadCpuSeconds: round3(mainThreadCpuSeconds),
            mainThreadMsPerBundleReconcile: bundleReconciles > 0 ? round3((mainThreadCpuSeconds * 1000) / bundleReconciles) : Number.NaN,
            // The placement step alone (plan or dispatch, building the objects to write), per Bundle reconcile.
            placementMainThreadMsMean: placementSteps > 0 ? round3((d(b, a, 'flotilla_bundle_placement_main_thread_seconds_sum') * 1000) / placementSteps) : Number.NaN,
            eventLoopDelayP99Ms: round3(histogramQuantileDelta(b, a, 'flotilla_event_loop_delay_seconds', 0.99) * 1000),
            eventLoopDelayMaxBucketMs: round3(histogramQuantileDelta(b, a, 'flotilla_event_loop_delay_seconds', 1) * 1000),
          };
        },
      };
    }
    case 'direct-go': {
      // client-go: --qps 0 becomes QPS -1 (no rate limiter), as unlimited as direct's 0.
      const settings = { concurrency: run.concurrency, qps: run.qps, burst: run.burst };
      return {
        name,
        kind,
        settings,
        async start({ kubeconfig, label, wrap }) {
          const binary = await ensureDirectGoBinary(progress);
          return launchSystem({
            name: label ?? name,
            wrap,
            command: { binary, args: ['--kubeconfig', kubeconfig, ...Object.entries(settings).flatMap(([k, v]) => [`--${k}`, String(v)])] },
          });
        },
        extra: (b, a) => ({ reconciles: d(b, a, 'controller_runtime_reconcile_total') }),
      };
    }
    case 'direct':
    case 'naive': {
      const name = kind;
      // naive's settings are what it reproduces (Fleet's defaults), not the run's.
      const limits = name === 'direct' ? { concurrency: run.concurrency, qps: run.qps, burst: run.burst } : { concurrency: 50, qps: 20, burst: 30 };
      const settings: Record<string, number> = name === 'direct' ? limits : { workers: limits.concurrency, qps: limits.qps, burst: limits.burst };
      const flags = [...Object.entries(limits).flatMap(([k, v]) => [`--${k}`, String(v)]), ...(name === 'direct' && run.agents ? ['--await-ready'] : [])];
      if (name === 'direct' && run.agents) settings.awaitReady = 1;
      return {
        name,
        kind,
        settings,
        start({ kubeconfig, label, wrap }) {
          return launchSystem({
            name: label ?? name,
            wrap,
            command: { binary: node, args: [join(ROOT, `bench/baselines/${name}.ts`), '--kubeconfig', kubeconfig, ...flags] },
          });
        },
        extra: (b, a) => ({ reconciles: d(b, a, 'controller_runtime_reconcile_total') }),
      };
    }
  }
}

function stringValues(overrides: VariantOverrides): Record<string, string> {
  return Object.fromEntries(Object.entries(overrides).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
}


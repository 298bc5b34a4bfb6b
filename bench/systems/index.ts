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
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify as stringifyYaml } from 'yaml';
import { testConfig } from '../../test/support/flotilla.ts';
import { CONTROLLER_NODE_OPTIONS } from '../../src/runtime/node-options.ts';
import type { Metrics } from '../../test/support/metrics.ts';
import { ensureDirectGoBinary } from '../lib/go-baseline.ts';
import { launchSystem, type LaunchWrapper, type SystemProcess } from '../lib/launch.ts';
import { progress } from '../lib/report.ts';

export const SYSTEM_NAMES = ['flotilla', 'direct', 'direct-go', 'naive'] as const;
export type SystemName = (typeof SYSTEM_NAMES)[number];

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface RunSettings {
  /** Reconciles (flotilla) / writes (direct) in flight. */
  concurrency: number;
  /** Client-side QPS; 0 = unlimited. */
  qps: number;
  burst: number;
  /** label-flip --agents: direct writes each new BundleDeployment's summaries once, when the agent reports it ready. */
  agents?: boolean;
}

export interface SystemSpec {
  name: SystemName;
  settings: Record<string, number | string>;
  start(options: { kubeconfig: string; label?: string; wrap?: LaunchWrapper }): Promise<SystemProcess>;
  /** System-specific figures from a metrics delta (Flotilla's reconciles, pool tasks, ...). */
  extra(before: Metrics, after: Metrics): Record<string, number>;
}

const d = (before: Metrics, after: Metrics, name: string, filter: Parameters<Metrics['sum']>[1] = {}) => after.sum(name, filter) - before.sum(name, filter);

export function systemSpec(name: SystemName, run: RunSettings): SystemSpec {
  const node = process.execPath;
  switch (name) {
    case 'flotilla': {
      const settings = { maxConcurrentReconciles: run.concurrency, qps: run.qps, burst: run.burst, poolThreads: 'auto' };
      return {
        name,
        settings,
        start({ kubeconfig, label, wrap }) {
          const dir = mkdtempSync(join(tmpdir(), 'bench-flotilla-'));
          const configPath = join(dir, 'flotilla.yaml');
          writeFileSync(
            configPath,
            stringifyYaml(testConfig({ concurrency: { maxConcurrentReconciles: run.concurrency }, api: { qps: run.qps, burst: run.burst }, log: { level: 'info' } })),
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
        extra: (b, a) => ({
          reconciles: d(b, a, 'controller_runtime_reconcile_total'),
          poolTasks: d(b, a, 'flotilla_pool_tasks_total', { path: 'pooled' }),
          inlineMatches: d(b, a, 'flotilla_pool_tasks_total', { path: 'inline' }),
          coalescedEvents: d(b, a, 'flotilla_workqueue_coalesced_total'),
        }),
      };
    }
    case 'direct-go': {
      // client-go: --qps 0 becomes QPS -1 (no rate limiter), as unlimited as direct's 0.
      const settings = { concurrency: run.concurrency, qps: run.qps, burst: run.burst };
      return {
        name,
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
      // naive's settings are what it reproduces (Fleet's defaults), not the run's.
      const limits = name === 'direct' ? { concurrency: run.concurrency, qps: run.qps, burst: run.burst } : { concurrency: 50, qps: 20, burst: 30 };
      const settings: Record<string, number> = name === 'direct' ? limits : { workers: limits.concurrency, qps: limits.qps, burst: limits.burst };
      const flags = [...Object.entries(limits).flatMap(([k, v]) => [`--${k}`, String(v)]), ...(name === 'direct' && run.agents ? ['--await-ready'] : [])];
      if (name === 'direct' && run.agents) settings.awaitReady = 1;
      return {
        name,
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

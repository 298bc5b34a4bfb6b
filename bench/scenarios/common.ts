/**
 * What the scenarios share: their context, the polling loop that decides
 * convergence (on the observer's in-memory view, so polling costs the API
 * server nothing), and the untimed "let Flotilla converge the seeded world"
 * step that gives every system the same starting state.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchEnv } from '../lib/env.ts';
import type { LaunchWrapper, SystemProcess } from '../lib/launch.ts';
import type { SystemFigures } from '../lib/measure.ts';
import type { Observer } from '../lib/observer.ts';
import { settledMemory, type MemoryBaseline } from '../lib/memory.ts';
import { progress } from '../lib/report.ts';
import { systemSpec, type RunSettings, type SystemName } from '../systems/index.ts';

export interface ScenarioOptions {
  bundles: number;
  clusters: number;
  selectivity: number;
  /** churn: share of clusters relabelled per second, and for how long. */
  rate: number;
  durationSeconds: number;
  seed: number;
}

export interface ScenarioContext {
  env: BenchEnv;
  observer: Observer;
  systems: SystemName[];
  run: RunSettings;
  options: ScenarioOptions;
  /** Deadline for converging, per system and phase (naive: naiveTimeoutSeconds). */
  timeoutSeconds: number;
  naiveTimeoutSeconds: number;
  /** label-flip --agents: the agent's downstream rate limit (the rest of its settings come from `run`). */
  agents?: { downstreamQps: number; downstreamBurst: number };
  /** Wraps the Flotilla command (profiling). */
  wrap?: LaunchWrapper;
  /** Flotilla's settled memory over the empty world, measured before seeding (see bench/lib/memory.ts). */
  baseline?: MemoryBaseline;
}

export interface ScenarioResult {
  parameters: Record<string, unknown>;
  results: Record<SystemName, SystemFigures>;
  /** Further per-scenario figures (restart, memory, latency distributions). */
  extra: Record<string, unknown>;
  /** Text printed after the main table. */
  notes: string[];
}

export function deadlineFor(ctx: ScenarioContext, system: SystemName): number {
  return (system === 'naive' ? ctx.naiveTimeoutSeconds : ctx.timeoutSeconds) * 1000;
}

/**
 * Polls `check` (cheap, in memory) until it reports done or the deadline
 * passes; prints progress every few seconds. Returns whether it finished,
 * when (seconds since `since`), and the last fraction done.
 */
export async function until(
  what: string,
  check: () => { done: number; total: number },
  options: { since: number; timeoutMs: number; intervalMs?: number; system?: SystemProcess },
): Promise<{ ok: boolean; seconds: number; fraction: number }> {
  let lastPrint = 0;
  for (;;) {
    const { done, total } = check();
    const now = performance.now();
    const seconds = (now - options.since) / 1000;
    const fraction = total === 0 ? 1 : done / total;
    if (done >= total) return { ok: true, seconds, fraction: 1 };
    if (now - options.since > options.timeoutMs) return { ok: false, seconds, fraction };
    if (options.system && !options.system.isRunning()) throw new Error(`${options.system.name} exited:\n${options.system.logTail(30)}`);
    if (now - lastPrint > 5000) {
      lastPrint = now;
      progress(`  ${what}: ${done}/${total} (${(fraction * 100).toFixed(1)}%) after ${seconds.toFixed(1)} s`);
    }
    await sleep(options.intervalMs ?? 50);
  }
}

/** Not converged: say how far it got and what the whole would take at that pace. */
export function notConvergedNote(seconds: number, fraction: number): { note: string; progressFraction: number; projectedSeconds: number | null } {
  const projected = fraction > 0 ? seconds / fraction : null;
  return {
    note: `not converged after ${seconds.toFixed(0)} s, ${(Math.floor(fraction * 1000) / 10).toFixed(1)}% done${projected ? `, projected ${projected.toFixed(0)} s` : ''}`,
    progressFraction: Math.round(fraction * 1000) / 1000,
    projectedSeconds: projected === null ? null : Math.round(projected),
  };
}

/** Starts Flotilla (untimed) and waits until `converged` holds and it is idle: the common starting state. */
export async function convergeWithFlotilla(ctx: ScenarioContext, what: string, converged: () => { done: number; total: number }): Promise<void> {
  progress(`converging the seeded world with Flotilla (${what}; not timed)`);
  const spec = systemSpec('flotilla', ctx.run);
  const proc = await spec.start({ kubeconfig: ctx.env.systemKubeconfig, label: 'flotilla-seed' });
  try {
    await proc.waitForReady();
    const r = await until(what, converged, { since: performance.now(), timeoutMs: Math.max(ctx.timeoutSeconds, 600) * 1000, intervalMs: 250, system: proc });
    if (!r.ok) throw new Error(`the seeded world did not converge (${what}) in time`);
    await proc.waitForIdle({ stableMs: 2000 });
    progress(`  converged in ${r.seconds.toFixed(1)} s`);
  } finally {
    await proc.stop();
  }
}

/**
 * Flotilla's settled memory over the world as it is now — before seeding, the
 * empty world: what a fresh controller costs with nothing to cache. The
 * baseline subtracted from later readings (bench/lib/memory.ts).
 */
export async function measureBaseline(ctx: Pick<ScenarioContext, 'env' | 'run'>): Promise<MemoryBaseline> {
  progress('measuring Flotilla over the empty world (memory baseline; not timed)');
  const proc = await systemSpec('flotilla', ctx.run).start({ kubeconfig: ctx.env.systemKubeconfig, label: 'flotilla-baseline' });
  try {
    await proc.waitForReady();
    await proc.waitForIdle({ stableMs: 2000 });
    const reading = await settledMemory(proc);
    progress(`  baseline: heap used ${(reading.heapUsedBytes / 2 ** 20).toFixed(1)} MiB, RSS ${((reading.rssBytes ?? Number.NaN) / 2 ** 20).toFixed(1)} MiB`);
    return { reading, note: 'a fresh Flotilla over the world before seeding (a fresh control plane: no Flotilla objects), after forced full GCs' };
  } finally {
    await proc.stop();
  }
}

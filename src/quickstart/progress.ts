/**
 * The quick start's live progress line: per Cluster, its resources ready /
 * applied as its agent reports them and whether the agent is connected;
 * BundleDeployments applied / existing; reconciles per second. Everything is
 * read from the running controller's own informer caches and metrics
 * registry, so watching costs no API calls (how resources are counted:
 * cluster-progress.ts).
 *
 * Converged: every Bundle's status is current, every desired
 * BundleDeployment exists and its agent reports its current deploymentID
 * applied, and every Cluster's agent is connected. Resources that stay
 * not ready (the demo's Deployment, on clusters without nodes) do not hold
 * convergence back: the converged message names them and says why.
 *
 * On a terminal the line is redrawn in place twice a second; otherwise
 * (CI logs, tests) one line is printed every few seconds and whenever the
 * converged state changes. Reaching convergence prints how to inspect the
 * demo; losing it (someone edited an object, an agent stopped) says so.
 */
import type { Registry } from 'prom-client';
import type { PlacementContext } from '../controllers/placement-context.ts';
import type { Condition } from '../api/condition.ts';
import { clusterProgress, formatCluster, isApplied, type BundleDeploymentLike, type ClusterLike, type ClusterProgress } from './cluster-progress.ts';

export interface Snapshot {
  bundles: number;
  /** Bundles whose status reflects their current generation. */
  bundlesObserved: number;
  bundleDeployments: number;
  /** Sum of the Bundles' `status.summary.desiredReady`. */
  desired: number;
  /** BundleDeployments whose agent reports their current deploymentID applied. */
  bundleDeploymentsApplied: number;
  clusters: ClusterProgress[];
  reconcilesPerSecond: number;
}

export interface ProgressOptions {
  placement: PlacementContext;
  registry: Registry;
  write: (text: string) => void;
  tty: boolean;
  /** Printed once each time the demo converges. */
  onConverged: (snapshot: Snapshot, elapsedMs: number) => string;
  intervalMs?: number;
}

interface BundleLike {
  metadata: { generation?: number };
  status?: { observedGeneration?: number; conditions?: Condition[]; summary?: { desiredReady?: number } };
}

export class ProgressDisplay {
  readonly #opts: ProgressOptions;
  readonly #started = performance.now();
  #timer: NodeJS.Timeout | undefined;
  #lastReconciles: { total: number; at: number } | undefined;
  #converged = false;
  #lastPrintedAt = 0;
  #lineOpen = false;

  constructor(opts: ProgressOptions) {
    this.#opts = opts;
  }

  start(): void {
    const interval = this.#opts.intervalMs ?? (this.#opts.tty ? 500 : 1000);
    this.#timer = setInterval(() => void this.tick(), interval);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#endLine();
  }

  /** Prints a message on its own line, keeping the progress line below it intact. */
  say(text: string): void {
    this.#endLine();
    this.#opts.write(`${text}\n`);
  }

  async snapshot(): Promise<Snapshot> {
    const { placement } = this.#opts;
    const bundles = placement.bundles.store.list() as unknown as BundleLike[];
    let bundlesObserved = 0;
    let desired = 0;
    for (const bundle of bundles) {
      const observed = bundle.status?.observedGeneration !== undefined && bundle.status.observedGeneration === bundle.metadata.generation;
      if (!observed) continue;
      bundlesObserved++;
      desired += bundle.status?.summary?.desiredReady ?? 0;
    }
    const bds = placement.bundleDeployments.store.list() as unknown as BundleDeploymentLike[];
    const clusters = clusterProgress(placement.clusters.store.list() as unknown as ClusterLike[], bds);
    const total = await this.#metricSum('controller_runtime_reconcile_total');
    const now = performance.now();
    const previous = this.#lastReconciles;
    this.#lastReconciles = { total, at: now };
    const reconcilesPerSecond = previous && now > previous.at ? ((total - previous.total) * 1000) / (now - previous.at) : 0;
    return {
      bundles: bundles.length,
      bundlesObserved,
      bundleDeployments: bds.length,
      desired,
      bundleDeploymentsApplied: bds.filter(isApplied).length,
      clusters,
      reconcilesPerSecond,
    };
  }

  static isConverged(s: Snapshot): boolean {
    return (
      s.bundles > 0 &&
      s.bundlesObserved === s.bundles &&
      s.bundleDeployments > 0 &&
      s.bundleDeployments === s.desired &&
      s.bundleDeploymentsApplied === s.bundleDeployments &&
      s.clusters.every((c) => c.agentConnected)
    );
  }

  static format(s: Snapshot): string {
    return [
      ...s.clusters.map(formatCluster),
      `BundleDeployments ${s.bundleDeploymentsApplied}/${s.bundleDeployments} applied`,
      `${s.reconcilesPerSecond.toFixed(1)} reconciles/s`,
    ].join(' · ');
  }

  async tick(): Promise<void> {
    const s = await this.snapshot();
    const converged = ProgressDisplay.isConverged(s);
    const line = ProgressDisplay.format(s);
    const now = performance.now();
    if (this.#opts.tty) {
      this.#opts.write(`\r\x1b[2K${line}`);
      this.#lineOpen = true;
    } else if (converged !== this.#converged || now - this.#lastPrintedAt >= 5000) {
      this.#opts.write(`${line}\n`);
      this.#lastPrintedAt = now;
    }
    if (converged && !this.#converged) this.say(this.#opts.onConverged(s, now - this.#started));
    else if (!converged && this.#converged) this.say('Changes detected: converging…');
    this.#converged = converged;
  }

  #endLine(): void {
    if (this.#lineOpen) this.#opts.write('\n');
    this.#lineOpen = false;
  }

  async #metricSum(name: string): Promise<number> {
    const metric = this.#opts.registry.getSingleMetric(name);
    if (!metric) return 0;
    const { values } = await metric.get();
    return values.reduce((sum, v) => sum + v.value, 0);
  }
}

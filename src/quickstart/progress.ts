/**
 * The quick start's live progress line: Bundles ready / total,
 * BundleDeployments existing / desired (and how many report ready), and
 * reconciles per second. Everything is read from the running controller's
 * own informer caches and metrics registry, so watching costs no API calls.
 *
 * On a terminal the line is redrawn in place twice a second; otherwise
 * (CI logs, tests) one line is printed every few seconds and whenever the
 * converged state changes. Reaching convergence prints how to inspect the
 * demo; losing it (someone edited an object) says so.
 */
import type { Registry } from 'prom-client';
import type { PlacementContext } from '../controllers/placement-context.ts';
import { findCondition } from '../placement/conditions.ts';
import type { Condition } from '../api/condition.ts';

export interface Snapshot {
  bundles: number;
  /** Bundles whose status is current (observedGeneration) and whose Ready condition is True. */
  bundlesReady: number;
  /** Bundles whose status reflects their current generation. */
  bundlesObserved: number;
  bundleDeployments: number;
  /** Sum of the Bundles' `status.summary.desiredReady`. */
  desired: number;
  bundleDeploymentsReady: number;
  reconcilesPerSecond: number;
  /** Reconciles queued or running. */
  busy: number;
}

export interface ProgressOptions {
  placement: PlacementContext;
  registry: Registry;
  write: (text: string) => void;
  tty: boolean;
  /** Whether BundleDeployments are expected to become ready (a demo agent runs). */
  expectReady: boolean;
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
    let bundlesReady = 0;
    let bundlesObserved = 0;
    let desired = 0;
    for (const bundle of bundles) {
      const observed = bundle.status?.observedGeneration !== undefined && bundle.status.observedGeneration === bundle.metadata.generation;
      if (!observed) continue;
      bundlesObserved++;
      desired += bundle.status?.summary?.desiredReady ?? 0;
      if (findCondition(bundle.status?.conditions, 'Ready')?.status === 'True') bundlesReady++;
    }
    const bds = placement.bundleDeployments.store.list();
    const bundleDeploymentsReady = bds.filter((bd) => {
      const status = bd.status as { ready?: boolean; appliedDeploymentID?: string } | undefined;
      return status?.ready === true && status.appliedDeploymentID === bd.spec?.deploymentID;
    }).length;
    const total = await this.#metricSum('controller_runtime_reconcile_total');
    const now = performance.now();
    const previous = this.#lastReconciles;
    this.#lastReconciles = { total, at: now };
    const reconcilesPerSecond = previous && now > previous.at ? ((total - previous.total) * 1000) / (now - previous.at) : 0;
    const busy = (await this.#metricSum('workqueue_depth')) + (await this.#metricSum('controller_runtime_active_workers'));
    return { bundles: bundles.length, bundlesReady, bundlesObserved, bundleDeployments: bds.length, desired, bundleDeploymentsReady, reconcilesPerSecond, busy };
  }

  isConverged(s: Snapshot): boolean {
    return (
      s.bundles > 0 &&
      s.bundlesObserved === s.bundles &&
      s.bundleDeployments === s.desired &&
      s.busy === 0 &&
      (!this.#opts.expectReady || (s.bundlesReady === s.bundles && s.bundleDeploymentsReady === s.bundleDeployments))
    );
  }

  static format(s: Snapshot): string {
    return (
      `Bundles ready ${s.bundlesReady}/${s.bundles} · ` +
      `BundleDeployments ${s.bundleDeployments}/${s.desired} (${s.bundleDeploymentsReady} ready) · ` +
      `${s.reconcilesPerSecond.toFixed(1)} reconciles/s`
    );
  }

  async tick(): Promise<void> {
    const s = await this.snapshot();
    const converged = this.isConverged(s);
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

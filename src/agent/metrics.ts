/** The agent's own Prometheus metrics (the runtime adds the reconcile, client and reflector families). */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ApplyOutcome } from './apply/types.ts';

export class AgentMetrics {
  readonly #applies: Counter<'result'>;
  readonly #resources: Counter<'result'>;
  readonly #pruned: Counter;
  readonly #removed: Counter;
  readonly #statusWrites: Counter;

  constructor(registry: Registry, gauges: { bundleDeployments: () => number; watchedKinds: () => number; cachedContents: () => number }) {
    const registers = [registry];
    this.#applies = new Counter({
      name: 'flotilla_agent_applies_total',
      help: 'Applies of a BundleDeployment downstream: success, or problems when some resources were rejected.',
      labelNames: ['result'],
      registers,
    });
    this.#resources = new Counter({
      name: 'flotilla_agent_resources_applied_total',
      help: 'Resources sent with server-side apply, by result (applied, rejected).',
      labelNames: ['result'],
      registers,
    });
    this.#pruned = new Counter({ name: 'flotilla_agent_resources_pruned_total', help: 'Resources deleted because they left their Bundle.', registers });
    this.#removed = new Counter({
      name: 'flotilla_agent_resources_removed_total',
      help: 'Resources deleted because their BundleDeployment was deleted.',
      registers,
    });
    this.#statusWrites = new Counter({
      name: 'flotilla_agent_status_writes_total',
      help: 'BundleDeployment status patches sent to the management cluster (only when the status changed).',
      registers,
    });
    new Gauge({
      name: 'flotilla_agent_bundledeployments',
      help: 'BundleDeployments in the agent\'s deployment namespace (cached).',
      registers,
      collect() {
        this.set(gauges.bundleDeployments());
      },
    });
    new Gauge({
      name: 'flotilla_agent_watched_kinds',
      help: 'Kinds the agent watches downstream for drift and readiness.',
      registers,
      collect() {
        this.set(gauges.watchedKinds());
      },
    });
    new Gauge({
      name: 'flotilla_agent_cached_contents',
      help: 'Contents held in the agent\'s cache.',
      registers,
      collect() {
        this.set(gauges.cachedContents());
      },
    });
  }

  applied(outcome: ApplyOutcome): void {
    this.#applies.inc({ result: outcome.problems.length === 0 ? 'success' : 'problems' });
    this.#resources.inc({ result: 'applied' }, outcome.applied.length);
    if (outcome.problems.length > 0) this.#resources.inc({ result: 'rejected' }, outcome.problems.length);
    if (outcome.pruned.length > 0) this.#pruned.inc(outcome.pruned.length);
  }

  removed(count: number): void {
    if (count > 0) this.#removed.inc(count);
  }

  statusWritten(): void {
    this.#statusWrites.inc();
  }
}

import type { AdaptiveLimit } from './actors/adaptive-limit.ts';
import { ConcurrencyLimiter } from './actors/concurrency-limiter.ts';
import { currentIsolation } from './isolation.ts';
import type { RequestSpec } from './kube/api-types.ts';
import type { RequestFlowControl, RequestOutcome } from './kube/flow-control.ts';

/**
 * Connects the API client to the adaptive limit on reconciles in flight
 * (docs/architecture.md#concurrency), both ways.
 *
 * **Signals.** A 429 lowers the limit; a success counts towards raising it
 * and towards the latency baseline of its verb and resource. Every request
 * counts, not only the reconciles' own: the server throttles per user (API
 * Priority and Fairness), so a reflector's rejected LIST is news about the
 * same budget. The transport is the seam rather than a reconcile's error
 * classification: the transport retries a 429 itself (client-go's
 * behaviour), so most 429s never reach a reconcile as errors, and only the
 * transport knows when a request was sent and how long the server took.
 *
 * **Admission.** The requests reconciles make are held to the same limit
 * while adaptation is on: at most `limit` of them in flight. Limiting
 * reconciles alone cannot bring the request count down to what the server
 * admits, because one reconcile writes up to 16 BundleDeployments at once,
 * and because a reconcile whose request sleeps out a Retry-After keeps its
 * slot. A request holds its place only while it is on the wire (not during
 * that sleep). The runtime's own requests (reflectors' LISTs, the lease,
 * anything outside a reconcile) are never held: a throttled fan-out must not
 * delay a lease renewal.
 */
export class ApiFlowControl implements RequestFlowControl {
  readonly #limit: AdaptiveLimit;
  readonly #requests: ConcurrencyLimiter;

  constructor(limit: AdaptiveLimit) {
    this.#limit = limit;
    this.#requests = new ConcurrencyLimiter(limit.limit);
    limit.onChange((value) => this.#requests.setLimit(value));
  }

  /** Requests of reconciles on the wire now. */
  get inFlight(): number {
    return this.#requests.inFlight;
  }

  admit(spec: RequestSpec): Promise<() => void> | undefined {
    if (!this.#limit.enabled || currentIsolation() === undefined) return undefined;
    return this.#requests.acquire(spec.signal);
  }

  observe(outcome: RequestOutcome): void {
    if (outcome.status === 429) {
      this.#limit.throttled(outcome.startedAt);
    } else if (outcome.status >= 200 && outcome.status < 300) {
      // A paginated LIST's latency depends on how much it returns, not on congestion.
      const kind = outcome.verb === 'list' ? undefined : `${outcome.verb} ${outcome.resource}`;
      this.#limit.succeeded({ startedAt: outcome.startedAt, latencyMs: outcome.latencyMs, kind });
    }
  }
}

import type { AdaptiveLimit } from './actors/adaptive-limit.ts';
import type { RequestSpec } from './kube/api-types.ts';
import type { RequestFlowControl, RequestOutcome } from './kube/flow-control.ts';

/**
 * Turns the API client's answers into the adaptive limit's signals: a 429
 * lowers it, a success counts towards raising it and towards the latency
 * baseline of its verb and resource. Every request counts, not only the
 * reconciles' own: the server throttles per user (API Priority and
 * Fairness), so a reflector's rejected LIST is news about the same budget.
 *
 * The transport is the seam rather than a reconcile's error classification:
 * the transport retries a 429 itself (client-go's behaviour), so most 429s
 * never reach a reconcile as errors, and only the transport sees when a
 * request was sent and how long the server took.
 */
export class ApiFlowControl implements RequestFlowControl {
  readonly #limit: AdaptiveLimit;

  constructor(limit: AdaptiveLimit) {
    this.#limit = limit;
  }

  admit(_spec: RequestSpec): Promise<() => void> | undefined {
    return undefined;
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

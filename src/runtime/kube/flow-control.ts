import type { RequestSpec, Verb } from './api-types.ts';

/**
 * The transport's seam for congestion control: it reports how each attempt
 * was answered, and may be asked to hold an attempt back. What to make of
 * the answers lives outside the client (src/runtime/api-flow-control.ts).
 */
export interface RequestFlowControl {
  /**
   * Before each attempt of a request (retries included). `undefined` sends
   * it at once; a promise holds it until it resolves with the function to
   * call once the attempt is answered. Rejects when `spec.signal` aborts.
   */
  admit(spec: RequestSpec): Promise<() => void> | undefined;
  /** After each attempt that got an HTTP answer, whatever its status. */
  observe(outcome: RequestOutcome): void;
}

export interface RequestOutcome {
  verb: Verb;
  /** Metrics label of the resource, e.g. `bundledeployments.flotilla.dev`. */
  resource: string;
  status: number;
  /** `performance.now()` when the attempt was sent. */
  startedAt: number;
  latencyMs: number;
}

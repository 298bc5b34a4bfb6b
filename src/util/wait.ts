import { setTimeout as delay } from 'node:timers/promises';

/**
 * Polling with a deadline: how tests wait for a condition instead of
 * sleeping for a guessed time. Free of Kubernetes imports so unit tests can
 * use it without loading @kubernetes/client-node.
 */

export interface WaitForOptions {
  /** Total time allowed. Default 30 s. */
  timeoutMs?: number;
  /** Pause between attempts. Default 100 ms. */
  intervalMs?: number;
  /** What is awaited, for the timeout message ("namespace x to disappear"). */
  description: string;
}

type Pending = undefined | null | false;

/**
 * Calls `fn` until it returns something other than `undefined`, `null` or
 * `false`, and returns that. `fn` may be synchronous or async. Errors thrown
 * by `fn` count as "not yet" (an API server that is restarting should not
 * fail the wait), but the last one is reported if the deadline passes.
 */
export async function waitFor<T>(fn: () => T | Pending | Promise<T | Pending>, options: WaitForOptions): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const intervalMs = options.intervalMs ?? 100;
  const started = Date.now();
  let lastError: unknown;
  let attempts = 0;
  for (;;) {
    attempts += 1;
    try {
      const result = await fn();
      if (result !== undefined && result !== null && result !== false) return result;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    const elapsed = Date.now() - started;
    if (elapsed >= timeoutMs) {
      const cause = lastError === undefined ? '' : `; last error: ${errorSummary(lastError)}`;
      throw new Error(`Timed out after ${elapsed} ms (${attempts} attempts) waiting for ${options.description}${cause}`, { cause: lastError });
    }
    await delay(Math.min(intervalMs, Math.max(1, timeoutMs - elapsed)));
  }
}

function errorSummary(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.length > 500 ? `${text.slice(0, 500)}...` : text;
}

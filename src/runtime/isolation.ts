/**
 * Marks code that runs on behalf of one reconcile, so that an error escaping
 * it asynchronously (a fire-and-forget promise, a timer callback) can be
 * recognised as the reconcile's failure rather than the runtime's.
 *
 * AsyncLocalStorage follows the asynchronous continuation: a timer or promise
 * created inside `runIsolated` still carries the tags when it throws, and
 * Node delivers `uncaughtException` / `unhandledRejection` within that
 * context. The Lifecycle uses this to decide between "log and carry on" and
 * "shut down" (see lifecycle.ts).
 *
 * Wrap only the reconcile function itself: runtime bookkeeping that runs
 * after `await`ing it inside the same scope would inherit the tags and have
 * its own bugs treated as a reconcile's.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface IsolationTags {
  controller?: string;
  key?: string;
  reconcileID?: string;
  [tag: string]: unknown;
}

const storage = new AsyncLocalStorage<IsolationTags>();

export function runIsolated<T>(tags: IsolationTags, fn: () => T): T {
  return storage.run(tags, fn);
}

/** The tags of the reconcile the current code runs for, if any. */
export function currentIsolation(): IsolationTags | undefined {
  return storage.getStore();
}

/**
 * Runs `fn`, and everything asynchronous it starts, outside any reconcile's
 * tags: for fire-and-forget work a reconcile triggers but that is not part
 * of it (Events), so its requests are not held to the limit on reconciles'
 * requests (api-flow-control.ts) and its failures are not the reconcile's.
 */
export function outsideIsolation<T>(fn: () => T): T {
  return storage.exit(fn);
}

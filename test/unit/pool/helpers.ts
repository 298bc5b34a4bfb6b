/** Shared helpers for pool tests: condition polling (never fixed sleeps) and the test task module. */
import { setImmediate as nextTurn } from 'node:timers/promises';

export const fixtures = new URL('./fixtures/replica-tasks.ts', import.meta.url);

/** Polls `condition` every event-loop turn until it holds; fails after `timeoutMs` with `what`. */
export async function waitUntil(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await nextTurn();
  }
}

/** A gate blocked worker tasks wait on; opening it releases every task blocked on it. */
export function newGate(): { gate: Int32Array; open(): void; blocked(): number } {
  // [0]: open flag, [1]: how many tasks have started blocking.
  const gate = new Int32Array(new SharedArrayBuffer(8));
  return {
    gate,
    blocked: () => Atomics.load(gate, 1),
    open() {
      Atomics.store(gate, 0, 1);
      Atomics.notify(gate, 0);
    },
  };
}

/** Records settlement of a promise without letting a rejection go unhandled. */
export function track<T>(promise: Promise<T>): { settled: boolean; value?: T; error?: unknown; promise: Promise<void> } {
  const state: { settled: boolean; value?: T; error?: unknown; promise: Promise<void> } = {
    settled: false,
    promise: Promise.resolve(),
  };
  state.promise = promise.then(
    (value) => {
      state.settled = true;
      state.value = value;
    },
    (error: unknown) => {
      state.settled = true;
      state.error = error;
    },
  );
  return state;
}

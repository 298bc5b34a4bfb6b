import type { ManualClock } from '../../../src/runtime/actors/manual-clock.ts';

/** Lets every promise chain that can progress without time passing do so. */
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
}

/**
 * Moves `clock` forward by `ms` one due timer at a time, settling in
 * between, so async loops woken by a timer arm their next timer before time
 * moves on (a plain `advance` would fire only the timers armed beforehand).
 */
export async function runFor(clock: ManualClock, ms: number): Promise<void> {
  const target = clock.now() + ms;
  await settle();
  for (;;) {
    const due = clock.nextDueAt();
    if (due === undefined || due > target) break;
    clock.advance(due - clock.now());
    await settle();
  }
  clock.advance(target - clock.now());
  await settle();
}

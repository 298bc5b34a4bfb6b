/**
 * The global limit on reconciles in flight, shared by every controller of one
 * runtime.
 *
 * It is a counting semaphore with one twist: waiters are *claimants* (a
 * controller with ready work) served round-robin, one slot per turn. A
 * controller with 10,000 ready keys therefore takes every other slot when a
 * second controller also has work, instead of filling the queue in front of
 * it — the fairness a single shared FIFO of keys would not give.
 *
 * Slots are handed out from a `setImmediate` callback, never synchronously
 * inside `claim()` or `release()`: user reconcile code then never runs on the
 * caller's stack (an informer's event handler, another reconcile's
 * completion), and a stream of reconciles that finish without I/O yields to
 * the event loop after each batch instead of chaining microtasks forever
 * (which would starve watches, lease renewals and health probes).
 */

export interface SlotClaimant {
  /**
   * Called with one slot reserved for it. Return true if the slot was used
   * (the claimant must `release()` it later), false to pass it on.
   */
  takeSlot(): boolean;
  /** After taking a slot: whether to queue again for another (at the back). */
  wantsSlot(): boolean;
}

export type Release = () => void;

export class ConcurrencyLimiter {
  #limit: number;
  #inFlight = 0;
  /** Claimants waiting for a turn; a Set is an insertion-ordered FIFO without duplicates. */
  #turns = new Set<SlotClaimant>();
  #dispatchScheduled = false;
  #onClaimantError: ((err: unknown) => void) | undefined;

  constructor(limit: number, options: { onClaimantError?: (err: unknown) => void } = {}) {
    this.#limit = validateLimit(limit);
    this.#onClaimantError = options.onClaimantError;
  }

  get limit(): number {
    return this.#limit;
  }

  /** Slots currently held. May exceed `limit` right after the limit was lowered. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Claimants waiting for a slot. */
  get waiting(): number {
    return this.#turns.size;
  }

  /**
   * Changes the limit at runtime (config reload). Lowering it takes nothing
   * away from holders: they finish, and no slot is handed out until the
   * count is below the new limit.
   */
  setLimit(limit: number): void {
    this.#limit = validateLimit(limit);
    this.#scheduleDispatch();
  }

  /** Asks for slots; idempotent while the claimant is already queued. */
  claim(claimant: SlotClaimant): void {
    if (this.#turns.has(claimant)) return;
    this.#turns.add(claimant);
    this.#scheduleDispatch();
  }

  /** Drops a queued claim (e.g. a paused controller). */
  withdraw(claimant: SlotClaimant): void {
    this.#turns.delete(claimant);
  }

  /** Returns one slot taken through `takeSlot()`. */
  release(): void {
    if (this.#inFlight <= 0) throw new Error('ConcurrencyLimiter.release() without a held slot');
    this.#inFlight--;
    if (this.#turns.size > 0) this.#scheduleDispatch();
  }

  /**
   * Promise-style acquisition for one-off work outside a controller. Waits in
   * the same round-robin as controllers. The returned release is idempotent.
   */
  acquire(signal?: AbortSignal): Promise<Release> {
    return new Promise<Release>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      let settled = false;
      const onAbort = (): void => {
        if (settled) return;
        settled = true;
        this.#turns.delete(claimant);
        reject(signal?.reason);
      };
      const claimant: SlotClaimant = {
        takeSlot: () => {
          if (settled) return false;
          settled = true;
          signal?.removeEventListener('abort', onAbort);
          let released = false;
          resolve(() => {
            if (released) return;
            released = true;
            this.release();
          });
          return true;
        },
        wantsSlot: () => false,
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.claim(claimant);
    });
  }

  #scheduleDispatch(): void {
    if (this.#dispatchScheduled || this.#turns.size === 0 || this.#inFlight >= this.#limit) return;
    this.#dispatchScheduled = true;
    setImmediate(this.#dispatch);
  }

  #dispatch = (): void => {
    this.#dispatchScheduled = false;
    const turns = this.#turns;
    while (this.#inFlight < this.#limit && turns.size > 0) {
      const claimant = turns.values().next().value as SlotClaimant;
      turns.delete(claimant);
      this.#inFlight++;
      let took = false;
      try {
        took = claimant.takeSlot();
      } catch (err) {
        // A claimant bug must not take the dispatcher (and every other
        // controller) down with it; the slot is returned below.
        this.#onClaimantError?.(err);
      }
      if (!took) {
        this.#inFlight--;
        continue;
      }
      if (claimant.wantsSlot()) turns.add(claimant);
    }
  };
}

function validateLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1) {
    throw new RangeError(`maxInFlight must be an integer >= 1, got ${String(limit)}`);
  }
  return limit;
}

/**
 * A counting gate with a FIFO of waiters: the pool's bounded queue.
 *
 * Why not Piscina's own `needsDrain`/`drain`: those fire when every worker
 * is busy (running tasks = threads × concurrentTasksPerWorker), not when the
 * queue is full, and once the queue *is* full `run()` rejects ("Task queue is
 * at limit"). The gate admits at most `capacity` = threads + maxQueue tasks
 * into Piscina (so Piscina's own queue never exceeds maxQueue and never
 * rejects) and makes the rest *await* a slot in arrival order: backpressure,
 * nothing dropped, nothing rejected.
 */
export class AdmissionGate {
  #capacity: number;
  #used = 0;
  #waiters: Array<(admitted: boolean) => void> = [];
  #head = 0;

  constructor(capacity: number) {
    this.#capacity = AdmissionGate.#check(capacity);
  }

  static #check(capacity: number): number {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`admission capacity must be an integer >= 1, got ${capacity}`);
    return capacity;
  }

  get capacity(): number {
    return this.#capacity;
  }

  /** Slots held by admitted tasks. */
  get used(): number {
    return this.#used;
  }

  /** Callers awaiting a slot. */
  get waiting(): number {
    return this.#waiters.length - this.#head;
  }

  /** Takes a slot if one is free right now. */
  tryAcquire(): boolean {
    if (this.#used < this.#capacity && this.waiting === 0) {
      this.#used++;
      return true;
    }
    return false;
  }

  /**
   * Resolves `true` once a slot is held, or `false` if the gate was opened by
   * `releaseWaiters()` (closing): the caller then must not use the pool.
   */
  acquire(): Promise<boolean> {
    if (this.tryAcquire()) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => this.#waiters.push(resolve));
  }

  release(): void {
    // Hand the slot straight to the oldest waiter (FIFO) when there is one.
    const next = this.#shift();
    if (next && this.#used <= this.#capacity) next(true);
    else {
      if (next) this.#unshift(next);
      this.#used--;
    }
  }

  resize(capacity: number): void {
    this.#capacity = AdmissionGate.#check(capacity);
    while (this.#used < this.#capacity) {
      const next = this.#shift();
      if (!next) break;
      this.#used++;
      next(true);
    }
  }

  /** Wakes every waiter with `false` (the pool is closing). */
  releaseWaiters(): void {
    for (let next = this.#shift(); next; next = this.#shift()) next(false);
  }

  #shift(): ((admitted: boolean) => void) | undefined {
    if (this.#head >= this.#waiters.length) return undefined;
    const next = this.#waiters[this.#head];
    this.#waiters[this.#head++] = noop;
    // Compact occasionally so a long-lived gate does not grow without bound.
    if (this.#head > 1024 && this.#head * 2 > this.#waiters.length) {
      this.#waiters = this.#waiters.slice(this.#head);
      this.#head = 0;
    }
    return next;
  }

  #unshift(waiter: (admitted: boolean) => void): void {
    if (this.#head > 0) this.#waiters[--this.#head] = waiter;
    else this.#waiters.unshift(waiter);
  }
}

function noop(): void {}

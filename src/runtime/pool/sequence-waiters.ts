/**
 * Callers waiting until a sequence number is reached (a replica applied it,
 * every replica acknowledged it), each with a deadline after which it fails
 * as `TransientError`: a replica that stopped following the log fails work
 * the callers retry instead of hanging it.
 */
import { TransientError } from '../errors.ts';

interface Waiter {
  readonly seq: number;
  readonly resolve: () => void;
  readonly timer: NodeJS.Timeout;
}

export class SequenceWaiters {
  #waiters: Waiter[] = [];
  readonly #reached: (seq: number) => boolean;
  readonly #timeoutMessage: (seq: number, timeoutMs: number) => string;

  constructor(reached: (seq: number) => boolean, timeoutMessage: (seq: number, timeoutMs: number) => string) {
    this.#reached = reached;
    this.#timeoutMessage = timeoutMessage;
  }

  /** Resolves once `seq` is reached; `undefined` when it is already (the common case, no promise allocated). */
  wait(seq: number, timeoutMs: number): Promise<void> | undefined {
    if (this.#reached(seq)) return undefined;
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        seq,
        resolve,
        timer: setTimeout(() => {
          this.#waiters = this.#waiters.filter((w) => w !== waiter);
          reject(new TransientError(this.#timeoutMessage(seq, timeoutMs)));
        }, timeoutMs),
      };
      this.#waiters.push(waiter);
    });
  }

  /** Resolves the waiters whose sequence is reached now (call after progress). */
  wake(): void {
    if (this.#waiters.length === 0) return;
    const still: Waiter[] = [];
    for (const w of this.#waiters) {
      if (this.#reached(w.seq)) {
        clearTimeout(w.timer);
        w.resolve();
      } else still.push(w);
    }
    this.#waiters = still;
  }
}

import { Lane, type LaneNode } from './lane.ts';

/**
 * Two FIFO lanes — high (user changes) before low (initial list, resync,
 * requeues) — with a guaranteed share of picks for the low lane.
 *
 * Why a share and not aging: controller-runtime's priority queue (default
 * since v0.23) serves strictly by priority, and a steady stream of
 * priority-0 work can starve its low-priority initial-list items
 * indefinitely (controller-runtime#3496). Aging (promoting low items that
 * waited longer than T) fixes that but, after a startup storm, promotes the
 * whole backlog at once and puts a fresh user change right back behind
 * thousands of items — the very thing the lanes exist to prevent. A fixed
 * share keeps both promises: a high item waits at most ⌈1/share⌉ picks
 * behind any low backlog, and the low lane keeps progressing at no less than
 * `share` of the throughput however busy the high lane is.
 *
 * Implemented as a credit: every pick made while both lanes hold work earns
 * the low lane `share`; once it has a whole pick's worth, it gets the pick.
 */
export class PriorityLanes<T extends LaneNode<T>> {
  readonly high = new Lane<T>();
  readonly low = new Lane<T>();
  #share: number;
  #credit = 0;

  constructor(lowShare: number) {
    this.#share = checkShare(lowShare);
  }

  /** Config reload: takes effect from the next pick. */
  setShare(lowShare: number): void {
    this.#share = checkShare(lowShare);
  }

  get size(): number {
    return this.high.size + this.low.size;
  }

  /** Removes and returns the node to run next, or null when both lanes are empty. */
  pick(): T | null {
    if (this.high.size === 0) {
      // The low lane is being served anyway; it needs no credit.
      this.#credit = 0;
      return this.low.shift();
    }
    if (this.low.size === 0) return this.high.shift();
    this.#credit += this.#share;
    // The epsilon absorbs float error (0.1 added ten times is 0.999…).
    if (this.#credit >= 1 - 1e-9) {
      this.#credit -= 1;
      return this.low.shift();
    }
    return this.high.shift();
  }

  clear(): void {
    this.high.clear();
    this.low.clear();
    this.#credit = 0;
  }
}

function checkShare(lowShare: number): number {
  if (!(lowShare >= 0 && lowShare <= 1)) {
    throw new RangeError(`lowPriorityShare must be within [0, 1], got ${String(lowShare)}`);
  }
  return lowShare;
}

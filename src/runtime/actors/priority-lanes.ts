import { Lane, type LaneNode } from './lane.ts';
import type { Priority } from './types.ts';

/** What the lanes need of a node: its links, its priority, and when it became ready. */
export interface ScheduledNode<T> extends LaneNode<T> {
  priority: Priority;
  /** When it became ready (clock ms). */
  time: number;
}

const RANK: Record<Priority, number> = { deferred: 0, low: 1, high: 2 };

/** The more urgent of two priorities (an enqueue never lowers a pending one). */
export function morePressing(a: Priority, b: Priority): Priority {
  return RANK[a] >= RANK[b] ? a : b;
}

/**
 * Three FIFO lanes — high (user changes), low (initial list, resync,
 * requeues), deferred (bookkeeping such as status summaries) — with a
 * guaranteed share of picks for the low lane and a bounded wait for the
 * deferred one.
 *
 * Why a share and not aging for the low lane: controller-runtime's priority
 * queue (default since v0.23) serves strictly by priority, and a steady
 * stream of priority-0 work can starve its low-priority initial-list items
 * indefinitely (controller-runtime#3496). Aging (promoting low items that
 * waited longer than T) fixes that but, after a startup storm, promotes the
 * whole backlog at once and puts a fresh user change right back behind
 * thousands of items — the very thing the lanes exist to prevent. A fixed
 * share keeps both promises: a high item waits at most ⌈1/share⌉ picks
 * behind any low backlog, and the low lane keeps progressing at no less than
 * `share` of the throughput however busy the high lane is. Implemented as a
 * credit: every pick made while both lanes hold work earns the low lane
 * `share`; once it has a whole pick's worth, it gets the pick.
 *
 * The deferred lane is served only when the other two are empty: a summary
 * must not take the API server from the writes that change what is
 * deployed (when a label flip fans out to thousands of Bundles, the time
 * until the last BundleDeployment exists is what users wait for). Its bound:
 * a deferred node that has waited `maxDeferralMs` joins the low lane, and so
 * runs within that time plus its turn at the low lane's guaranteed share.
 */
export class PriorityLanes<T extends ScheduledNode<T>> {
  readonly high = new Lane<T>();
  readonly low = new Lane<T>();
  readonly deferred = new Lane<T>();
  #share: number;
  #maxDeferralMs: number;
  #credit = 0;

  constructor(lowShare: number, maxDeferralMs = Infinity) {
    this.#share = checkShare(lowShare);
    this.#maxDeferralMs = checkDeferral(maxDeferralMs);
  }

  /** Config reload: takes effect from the next pick. */
  setShare(lowShare: number): void {
    this.#share = checkShare(lowShare);
  }

  /** Config reload: takes effect from the next pick. */
  setMaxDeferral(ms: number): void {
    this.#maxDeferralMs = checkDeferral(ms);
  }

  get size(): number {
    return this.high.size + this.low.size + this.deferred.size;
  }

  push(node: T): void {
    this.#lane(node.priority).push(node);
  }

  /** Unlinks `node`, which must be in the lane of its `priority`. */
  remove(node: T): void {
    this.#lane(node.priority).remove(node);
  }

  /** Moves a ready node to the lane of a more pressing priority (never to a less pressing one). */
  raise(node: T, priority: Priority): void {
    if (morePressing(node.priority, priority) === node.priority) return;
    this.remove(node);
    node.priority = priority;
    this.push(node);
  }

  /** Removes and returns the node to run next, or null when every lane is empty. */
  pick(now: number): T | null {
    this.#promoteOverdue(now);
    if (this.high.size === 0) {
      // The low lane is being served anyway; it needs no credit.
      this.#credit = 0;
      return this.low.size > 0 ? this.low.shift() : this.deferred.shift();
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
    this.deferred.clear();
    this.#credit = 0;
  }

  /** Deferred nodes that waited their bound join the low lane, oldest first (the lane is in ready order). */
  #promoteOverdue(now: number): void {
    if (this.high.size === 0 && this.low.size === 0) return; // served now anyway
    for (let head = this.deferred.first; head !== null && now - head.time >= this.#maxDeferralMs; head = this.deferred.first) {
      this.deferred.remove(head);
      head.priority = 'low';
      this.low.push(head);
    }
  }

  #lane(priority: Priority): Lane<T> {
    return priority === 'high' ? this.high : priority === 'low' ? this.low : this.deferred;
  }
}

function checkShare(lowShare: number): number {
  if (!(lowShare >= 0 && lowShare <= 1)) {
    throw new RangeError(`lowPriorityShare must be within [0, 1], got ${String(lowShare)}`);
  }
  return lowShare;
}

function checkDeferral(ms: number): number {
  if (!(ms >= 0)) throw new RangeError(`the deferral bound must be ≥ 0 ms, got ${String(ms)}`);
  return ms;
}

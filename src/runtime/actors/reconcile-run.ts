import { randomBytes } from 'node:crypto';
import type { Logger } from '../../observability/logger.ts';
import type { Actor } from './actor.ts';
import type { Priority, ReconcileContext } from './types.ts';

/**
 * A process-unique prefix plus a counter: unique across replicas and
 * restarts in practice, and far cheaper than a UUID per reconcile.
 */
const idPrefix = randomBytes(4).toString('hex');
let nextSeq = 0;

/**
 * The context handed to user code. The id and the child logger are built
 * lazily: most successful reconciles never log, and a pino child costs more
 * than the rest of the scheduling put together.
 */
class Context implements ReconcileContext {
  readonly key: string;
  readonly attempt: number;
  readonly priority: Priority;
  readonly signal: AbortSignal;
  readonly #seq = nextSeq++;
  readonly #parentLog: Logger;
  #id: string | undefined;
  #log: Logger | undefined;

  constructor(key: string, attempt: number, priority: Priority, signal: AbortSignal, parentLog: Logger) {
    this.key = key;
    this.attempt = attempt;
    this.priority = priority;
    this.signal = signal;
    this.#parentLog = parentLog;
  }

  get reconcileID(): string {
    return (this.#id ??= `${idPrefix}-${this.#seq.toString(36)}`);
  }

  get log(): Logger {
    return (this.#log ??= this.#parentLog.child({ key: this.key, reconcileID: this.reconcileID }));
  }
}

/**
 * Scheduler-side state of one reconcile in progress. The mailbox for events
 * arriving during the run (`next*`) lives here rather than on the actor,
 * because only running actors need it.
 */
export class ReconcileRun {
  readonly actor: Actor;
  readonly ctx: ReconcileContext;
  readonly startedAt: number;

  /** An enqueue arrived during the run: run exactly once more afterwards. */
  nextPending = false;
  nextPriority: Priority = 'low';
  nextDueAt = 0;
  /** One of those enqueues was a `change` (which releases a dead-letter). */
  nextChange = false;
  /** `forget()` was called during the run: its outcome concerns an object that is gone. */
  discarded = false;

  constructor(actor: Actor, attempt: number, signal: AbortSignal, startedAt: number, parentLog: Logger) {
    this.actor = actor;
    this.startedAt = startedAt;
    this.ctx = new Context(actor.key, attempt, actor.priority, signal, parentLog);
  }
}

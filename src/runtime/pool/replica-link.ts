/**
 * The main thread's end of one worker's replica control channel: a comlink
 * proxy over the MessagePort the worker sent in its hello, used to push the
 * snapshot and delta batches and to read the replica's status.
 *
 * comlink hangs forever on a call to a worker that died (its promise never
 * settles), so every call races a `dead` promise that rejects when the
 * worker exits (its `exit` event, or Piscina destroying it), plus an
 * optional timeout. Deltas are fire-and-forget for the caller; their acks
 * advance `ackedSeq`, which `SelectorMatchPool.whenSynced()` waits on.
 */
import type { MessagePort, Worker } from 'node:worker_threads';
import * as Comlink from 'comlink';
import type { Logger } from '../../observability/logger.ts';
import { TransientError } from '../errors.ts';
import { deltasAfter, lastSeqOf } from './index-delta.ts';
import type { DeltaBatch, IndexSnapshot, ReplicaControl, ReplicaStatus } from './protocol.ts';

export interface ReplicaLinkHooks {
  /** A fresh snapshot of the authoritative index (after a refused batch). */
  snapshot(): IndexSnapshot;
  /** The replica acknowledged up to `link.ackedSeq`. */
  acked(link: ReplicaLink): void;
  /**
   * The link is unusable. `workerAlive` is true when the worker itself may still
   * run (its control channel failed): it must be replaced, as nothing can feed it deltas.
   */
  died(link: ReplicaLink, reason: string, workerAlive: boolean): void;
}

export class ReplicaLink {
  readonly threadId: number;
  /** The worker thread, when Piscina still listed it at hello time (for exit watching and termination). */
  readonly worker: Worker | undefined;
  /** Highest sequence sent (snapshot or delta). */
  sentSeq = -1;
  /** Highest sequence the replica confirmed it holds. */
  ackedSeq = -1;
  #alive = true;
  /** Calls awaiting an answer: the port is ref'd only while there are some. */
  #pending = 0;
  readonly #port: MessagePort;
  readonly #remote: Comlink.Remote<ReplicaControl>;
  readonly #dead: Promise<never>;
  #kill!: (err: Error) => void;
  readonly #hooks: ReplicaLinkHooks;
  readonly #logger: Logger;

  constructor(threadId: number, port: MessagePort, worker: Worker | undefined, hooks: ReplicaLinkHooks, logger: Logger) {
    this.threadId = threadId;
    this.worker = worker;
    this.#port = port;
    this.#hooks = hooks;
    this.#logger = logger;
    this.#dead = new Promise<never>((_, reject) => {
      this.#kill = reject;
    });
    this.#dead.catch(() => {}); // observed by the races below; never an unhandled rejection
    // Node's MessagePort is an EventTarget with postMessage: what comlink's Endpoint expects.
    this.#remote = Comlink.wrap<ReplicaControl>(port as unknown as Comlink.Endpoint);
    // An idle control port must not keep the process alive (Piscina unrefs idle workers too);
    // it is ref'd while a call awaits its answer, or the process could exit mid-call.
    port.unref();
    port.once('close', () => this.markDead('control port closed'));
    worker?.once('exit', (code) => this.markDead(`worker exited with code ${code}`));
  }

  get alive(): boolean {
    return this.#alive;
  }

  markDead(reason: string, workerAlive = false): void {
    if (!this.#alive) return;
    this.#alive = false;
    this.#kill(new TransientError(`selector worker ${this.threadId} is gone: ${reason}`));
    this.#port.close();
    this.#hooks.died(this, reason, workerAlive);
  }

  /** Races a comlink call against the worker's death and an optional timeout. */
  #guard<T>(call: Promise<T>, timeoutMs?: number): Promise<T> {
    if (!this.#alive) {
      call.catch(() => {});
      return Promise.reject(new TransientError(`selector worker ${this.threadId} is gone`));
    }
    const racers: Promise<T>[] = [call, this.#dead];
    if (this.#pending++ === 0) this.#port.ref();
    let timer: NodeJS.Timeout | undefined;
    if (timeoutMs !== undefined) {
      racers.push(
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new TransientError(`selector worker ${this.threadId} did not answer within ${timeoutMs} ms`)), timeoutMs);
          timer.unref();
        }),
      );
    }
    return Promise.race(racers).finally(() => {
      clearTimeout(timer);
      if (--this.#pending === 0 && this.#alive) this.#port.unref();
    });
  }

  #ack(seq: number): void {
    if (seq > this.ackedSeq) {
      this.ackedSeq = seq;
      this.#hooks.acked(this);
    }
  }

  sendSnapshot(snapshot: IndexSnapshot): void {
    if (!this.#alive) return;
    this.sentSeq = snapshot.seq;
    this.#guard(this.#remote.loadSnapshot(snapshot)).then(
      (seq) => this.#ack(seq),
      (err: unknown) => this.#failed('snapshot', err),
    );
  }

  /** Sends the part of `batch` this replica has not been sent yet. */
  sendDeltas(batch: DeltaBatch): void {
    if (!this.#alive) return;
    const unsent = deltasAfter(batch, this.sentSeq);
    if (!unsent) return;
    this.sentSeq = lastSeqOf(unsent);
    this.#guard(this.#remote.applyDeltas(unsent)).then(
      (seq) => this.#ack(seq),
      (err: unknown) => this.#failed('deltas', err),
    );
  }

  status(timeoutMs: number): Promise<ReplicaStatus> {
    return this.#guard(this.#remote.status(), timeoutMs);
  }

  #failed(what: string, err: unknown): void {
    if (!this.#alive) return; // death already reported
    const name = (err as { name?: unknown } | null)?.name;
    if (name === 'ReplicaGapError') {
      // The replica refused a batch it could not place: start it over from a snapshot.
      this.#logger.warn({ threadId: this.threadId, err }, 'selector replica out of step; resending snapshot');
      this.sendSnapshot(this.#hooks.snapshot());
      return;
    }
    // Anything else means the control channel is unusable: give up on this link; the
    // pool terminates the worker so Piscina replaces it with one that boots from a snapshot.
    this.#logger.error({ threadId: this.threadId, err, what }, 'selector replica control call failed');
    this.markDead(`${what} failed: ${(err as Error)?.message ?? String(err)}`, true);
  }
}

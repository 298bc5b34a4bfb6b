import type { Gauge, Registry } from 'prom-client';
import { registeredGauge } from '../observability/metrics.ts';
import { systemClock, type Clock } from './actors/clock.ts';
import { sleep, timeoutSignal } from './actors/clock-waits.ts';
import { ApiError, isNotFound } from './errors.ts';
import type { LeaseClient } from './kube/interfaces.ts';
import { builtinTypes, microTime, type KubeObject } from './kube/resource.ts';
import { silentLogger, type Logger } from '../observability/logger.ts';

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface Lease extends KubeObject {
  spec?: LeaseSpec;
}

export interface LeaderElectorOptions {
  client: LeaseClient;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  registry: Registry;
  logger?: Logger;
  /** Called when this replica becomes leader; `signal` aborts when leadership ends. */
  onStartedLeading: (signal: AbortSignal) => void;
  /** Called at once when leadership is lost or released: stop reconciling. */
  onStoppedLeading: () => void;
  onNewLeader?: (identity: string) => void;
  /**
   * Times retries, renewals and expiry; the real clock unless a test drives
   * time. The Lease's own timestamps stay wall-clock time.
   */
  clock?: Clock;
  /** Source of the retry jitter (tests pin it). */
  random?: () => number;
}

function leaderGauge(registry: Registry): Gauge<'name'> {
  return registeredGauge(registry, {
    name: 'leader_election_master_status',
    help: 'Whether this replica currently holds the lease (1) or not (0), as client-go reports it.',
    labelNames: ['name'],
  });
}

/**
 * Leader election on a coordination.k8s.io Lease, following client-go's
 * leaderelection package: a lease held by someone else counts as expired
 * only `leaseDuration` after *we* last saw it change (local clock, so clock
 * skew between replicas does not matter); the leader renews every
 * `retryPeriod` and gives up leadership if it cannot renew for
 * `renewDeadline`; every write is an optimistic-concurrency update, so two
 * candidates can never both win. Unlike the usual client-go and
 * controller-runtime set-up, where losing the lease ends the process, losing
 * it here stops reconciling at once and the replica goes back to standby
 * with its caches warm.
 */
export class LeaderElector {
  readonly #o: LeaderElectorOptions;
  readonly #log: Logger;
  readonly #gauge: Gauge<'name'>;
  readonly #clock: Clock;
  readonly #random: () => number;
  /** When (on `#clock`) the Lease's record last changed as we saw it. */
  #observed: { record: string; at: number } = { record: '', at: 0 };
  #leading: AbortController | undefined;
  /**
   * Set by release(): the replica is shutting down. Without it the run loop,
   * woken by the loss of leadership, would campaign again at once and could
   * re-take the lease it just released (the holder is empty), making the
   * standby wait a full lease duration after all.
   */
  #released = false;
  #lastLeader = '';

  constructor(opts: LeaderElectorOptions) {
    if (!(opts.renewDeadlineMs < opts.leaseDurationMs)) throw new Error('leader election: renewDeadline must be less than leaseDuration');
    if (!(opts.retryPeriodMs < opts.renewDeadlineMs)) throw new Error('leader election: retryPeriod must be less than renewDeadline');
    this.#o = opts;
    this.#clock = opts.clock ?? systemClock;
    this.#random = opts.random ?? Math.random;
    this.#log = (opts.logger ?? silentLogger).child({ lease: `${opts.namespace}/${opts.name}`, identity: opts.identity });
    this.#gauge = leaderGauge(opts.registry);
    this.#gauge.labels(opts.name).set(0);
  }

  isLeader(): boolean {
    return this.#leading !== undefined && !this.#leading.signal.aborted;
  }

  /** Campaigns, leads, and campaigns again after a loss, until `signal` aborts or the lease is released. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted && !this.#released) {
      if (!(await this.#acquire(signal))) break;
      const leading = new AbortController();
      this.#leading = leading;
      this.#gauge.labels(this.#o.name).set(1);
      this.#log.info('became leader');
      try {
        this.#o.onStartedLeading(leading.signal);
      } catch (err) {
        this.#log.error({ err }, 'onStartedLeading threw');
      }
      await this.#renewLoop(signal, leading.signal);
      this.#stopLeading('lost');
    }
  }

  /**
   * Gives the lease up so a standby can take over without waiting for
   * expiry. Final (part of shutdown): the elector stops campaigning, and
   * `run()` returns once its current step ends.
   */
  async release(): Promise<void> {
    this.#released = true;
    if (!this.isLeader()) return;
    this.#stopLeading('released');
    await this.#clearHolder();
  }

  /** Empties the Lease's holder if it is still us, so a standby may take it at once. */
  async #clearHolder(): Promise<void> {
    // A renewal may have been in flight when leadership stopped, so the
    // cached lease can be one resourceVersion behind: read it fresh, and
    // retry once if it moves under us.
    const deadline = timeoutSignal(this.#clock, this.#o.renewDeadlineMs);
    try {
      await this.#clearHolderBefore(deadline.signal);
    } finally {
      deadline.cancel();
    }
  }

  async #clearHolderBefore(signal: AbortSignal): Promise<void> {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const lease = await this.#o.client.get<Lease>(builtinTypes.lease, this.#o.name, this.#o.namespace, { signal });
        if (lease.spec?.holderIdentity !== this.#o.identity) return;
        const now = Date.now();
        await this.#o.client.update<Lease>(
          builtinTypes.lease,
          {
            ...lease,
            spec: {
              holderIdentity: '',
              leaseDurationSeconds: 1,
              acquireTime: microTime(now),
              renewTime: microTime(now),
              leaseTransitions: lease.spec?.leaseTransitions ?? 0,
            },
          },
          { signal },
        );
        this.#log.info('released lease');
        return;
      } catch (err) {
        if (attempt === 0 && err instanceof ApiError && err.statusCode === 409) continue;
        this.#log.warn({ err }, 'could not release lease; standbys take over after it expires');
        return;
      }
    }
  }

  #stopLeading(why: string): void {
    const leading = this.#leading;
    if (!leading || leading.signal.aborted) return;
    leading.abort();
    this.#gauge.labels(this.#o.name).set(0);
    // Releasing is the orderly path (shutdown); losing the lease is worth a warning.
    if (why === 'released') this.#log.info({ why }, 'stopped leading');
    else this.#log.warn({ why }, 'stopped leading');
    try {
      this.#o.onStoppedLeading();
    } catch (err) {
      this.#log.error({ err }, 'onStoppedLeading threw');
    }
  }

  async #acquire(signal: AbortSignal): Promise<boolean> {
    this.#log.info('campaigning for leadership');
    while (!signal.aborted && !this.#released) {
      if (await this.#tryAcquireOrRenew(signal)) {
        if (!this.#released) return true;
        // Released while this attempt was in flight: give the lease straight back.
        await this.#clearHolder();
        return false;
      }
      await sleep(this.#clock, jittered(this.#o.retryPeriodMs, this.#random), signal, { keepAlive: true });
    }
    return false;
  }

  async #renewLoop(stop: AbortSignal, leading: AbortSignal): Promise<void> {
    let lastRenew = this.#clock.now();
    while (!stop.aborted && !leading.aborted) {
      await sleep(this.#clock, this.#o.retryPeriodMs, AbortSignal.any([stop, leading]), { keepAlive: true });
      if (stop.aborted || leading.aborted) return;
      const remaining = lastRenew + this.#o.renewDeadlineMs - this.#clock.now();
      const ok = remaining > 0 && (await this.#renewBefore(stop, remaining));
      if (ok) {
        lastRenew = this.#clock.now();
      } else if (this.#clock.now() - lastRenew >= this.#o.renewDeadlineMs) {
        this.#log.error({ renewDeadlineMs: this.#o.renewDeadlineMs }, 'failed to renew lease within the renew deadline');
        return;
      }
    }
  }

  async #renewBefore(stop: AbortSignal, remainingMs: number): Promise<boolean> {
    const deadline = timeoutSignal(this.#clock, remainingMs);
    try {
      return await this.#tryAcquireOrRenew(AbortSignal.any([stop, deadline.signal]));
    } finally {
      deadline.cancel();
    }
  }

  async #tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    const { client, namespace, name, identity } = this.#o;
    const now = this.#clock.now();
    const wallNow = Date.now();
    const leaseSeconds = Math.ceil(this.#o.leaseDurationMs / 1000);
    let lease: Lease;
    try {
      lease = await client.get<Lease>(builtinTypes.lease, name, namespace, { signal });
    } catch (err) {
      if (!isNotFound(err)) {
        this.#log.warn({ err }, 'error retrieving lease');
        return false;
      }
      try {
        const created = await client.create<Lease>(
          builtinTypes.lease,
          {
            metadata: { name, namespace },
            spec: { holderIdentity: identity, leaseDurationSeconds: leaseSeconds, acquireTime: microTime(wallNow), renewTime: microTime(wallNow), leaseTransitions: 0 },
          },
          { signal },
        );
        this.#observe(created, now);
        return true;
      } catch (createErr) {
        this.#log.warn({ err: createErr }, 'error creating lease');
        return false;
      }
    }
    this.#observe(lease, now);
    const holder = lease.spec?.holderIdentity ?? '';
    const duration = (lease.spec?.leaseDurationSeconds ?? leaseSeconds) * 1000;
    if (holder !== '' && holder !== identity && this.#observed.at + duration > now) return false;
    const renewing = holder === identity;
    const spec: LeaseSpec = {
      holderIdentity: identity,
      leaseDurationSeconds: leaseSeconds,
      acquireTime: renewing ? (lease.spec?.acquireTime ?? microTime(wallNow)) : microTime(wallNow),
      renewTime: microTime(wallNow),
      leaseTransitions: (lease.spec?.leaseTransitions ?? 0) + (renewing ? 0 : 1),
    };
    try {
      const updated = await client.update<Lease>(builtinTypes.lease, { ...lease, spec }, { signal });
      this.#observe(updated, now);
      return true;
    } catch (err) {
      this.#log.warn({ err }, err instanceof ApiError && err.statusCode === 409 ? 'failed to update lease: it changed under us' : 'failed to update lease');
      return false;
    }
  }

  #observe(lease: Lease, now: number): void {
    const record = JSON.stringify(lease.spec ?? {});
    if (record !== this.#observed.record) this.#observed = { record, at: now };
    const holder = lease.spec?.holderIdentity ?? '';
    if (holder !== this.#lastLeader) {
      this.#lastLeader = holder;
      if (holder) this.#log.info({ leader: holder }, 'new leader observed');
      this.#o.onNewLeader?.(holder);
    }
  }
}

/** client-go's wait.Jitter(retryPeriod, 1.2). */
function jittered(ms: number, random: () => number): number {
  return ms + random() * 1.2 * ms;
}

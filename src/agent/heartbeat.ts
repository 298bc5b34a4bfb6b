/**
 * The agent's heartbeat: a coordination.k8s.io Lease in its deployment
 * namespace on the management cluster, renewed every interval (the kubelet's
 * node-Lease convention). The controller turns it into the Cluster's
 * `AgentConnected` condition, written only on transitions. A Lease renewal
 * is one small write that nothing fans out from, unlike a heartbeat in the
 * Cluster's status, which would re-enqueue every Bundle targeting it.
 *
 * Only the leading replica beats: a standby would report an agent as
 * connected while nothing deploys. A failed renewal is logged and retried
 * at the next tick; it never stops the agent.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { Counter, type Registry } from 'prom-client';
import { isNotFound } from '../runtime/errors.ts';
import type { LeaseClient } from '../runtime/kube/interfaces.ts';
import { builtinTypes, microTime, type KubeObject } from '../runtime/kube/resource.ts';
import type { Logger } from '../observability/logger.ts';
import { AGENT_HEARTBEAT_LEASE } from '../registration/names.ts';

interface LeaseObject extends KubeObject {
  spec?: { holderIdentity?: string; leaseDurationSeconds?: number; renewTime?: string; acquireTime?: string };
}

export interface HeartbeatOptions {
  client: LeaseClient;
  namespace: string;
  identity: string;
  intervalMs: number;
  leaseDurationSeconds: number;
  /** Beat only while this holds (leading). */
  active: () => boolean;
  registry: Registry;
  logger: Logger;
  now?: () => number;
}

export class Heartbeat {
  readonly #opts: HeartbeatOptions;
  readonly #beats: Counter<'result'>;
  #failing = false;
  #loop: Promise<void> | undefined;
  readonly #stop = new AbortController();

  constructor(opts: HeartbeatOptions) {
    this.#opts = opts;
    this.#beats = new Counter({
      name: 'flotilla_agent_heartbeats_total',
      help: 'Renewals of the agent heartbeat Lease on the management cluster, by result.',
      labelNames: ['result'],
      registers: [opts.registry],
    });
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
  }

  /** One renewal (creating the Lease when missing). */
  async beat(): Promise<void> {
    const { client, namespace, identity } = this.#opts;
    const now = microTime((this.#opts.now ?? Date.now)());
    const spec = { holderIdentity: identity, leaseDurationSeconds: this.#opts.leaseDurationSeconds, renewTime: now };
    let lease: LeaseObject | undefined;
    try {
      lease = await client.get<LeaseObject>(builtinTypes.lease, AGENT_HEARTBEAT_LEASE, namespace);
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    if (!lease) {
      await client.create<LeaseObject>(builtinTypes.lease, {
        metadata: { name: AGENT_HEARTBEAT_LEASE, namespace },
        spec: { ...spec, acquireTime: now },
      });
      return;
    }
    const acquireTime = lease.spec?.holderIdentity === identity ? lease.spec.acquireTime : now;
    await client.update<LeaseObject>(builtinTypes.lease, { ...lease, spec: { ...lease.spec, ...spec, ...(acquireTime ? { acquireTime } : {}) } });
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      if (this.#opts.active()) {
        try {
          await this.beat();
          this.#beats.inc({ result: 'success' });
          if (this.#failing) this.#opts.logger.info('heartbeat renewed again');
          this.#failing = false;
        } catch (err) {
          this.#beats.inc({ result: 'error' });
          // Once per outage at warn level: the renewals keep trying every tick.
          if (!this.#failing) this.#opts.logger.warn({ err }, 'cannot renew the heartbeat Lease on the management cluster; retrying every interval');
          this.#failing = true;
        }
      }
      await delay(this.#opts.intervalMs, undefined, { signal }).catch(() => undefined);
    }
  }
}

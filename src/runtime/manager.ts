import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import type { FlotillaConfig } from '../config/schema.ts';
import type { ConfigChange } from '../config/watch.ts';
import { EventLoopMonitor } from '../observability/event-loop-monitor.ts';
import { MainThreadMetrics } from '../observability/main-thread-metrics.ts';
import { HealthChecks, livenessChecks } from '../observability/health-checks.ts';
import { createObservabilityServers, type BoundAddress, type ObservabilityServer } from '../observability/http-server.ts';
import type { Logger } from '../observability/logger.ts';
import { createRegistry } from '../observability/metrics.ts';
import { KubeAccessReviewer } from '../observability/kube-access-reviewer.ts';
import { RequestAuthorizer } from '../observability/metrics-auth.ts';
import { ServingCertificate } from '../observability/serving-certificate.ts';
import { parseBindAddress } from '../config/bind-address.ts';
import { ActorSystem, type KeyScheduler, type KeySchedulerOptions } from './actors/index.ts';
import { ApiFlowControl } from './api-flow-control.ts';
import type { BackoffSettings } from './informer/backoff-manager.ts';
import { InformerFactory } from './informer/informer-factory.ts';
import { KubeClient } from './kube/client.ts';
import type { LeaseClient } from './kube/interfaces.ts';
import { LeaderElector } from './leader-election.ts';
import type { Lifecycle } from './lifecycle.ts';
import { EventBudget } from './event-budget.ts';
import { EventRecorder } from './events.ts';
import { SelectorMatchPool } from './pool/index.ts';
import { registerMemoryMetrics } from '../observability/memory-metrics.ts';
import { subscribeWatches, type Watch } from './watches.ts';
import { resolvePoolThreads } from '../config/resolve.ts';
import { componentLogger } from '../observability/logger.ts';

function reflectorBackoffSettings(reflector: FlotillaConfig['backoff']['reflector']): BackoffSettings {
  return {
    initialMs: reflector.initialDelayMs,
    maxMs: reflector.maxDelayMs,
    resetAfterMs: reflector.resetAfterSeconds * 1000,
    jitter: reflector.jitter,
  };
}

export interface ManagerOptions {
  config: FlotillaConfig;
  kubeConfig: KubeConfig;
  logger: Logger;
  registry?: Registry;
  /** Leader-election identity; defaults to config, then `<hostname>_<random>`. */
  identity?: string;
  /**
   * Where the leader-election Lease lives, when not in the cluster the
   * informers watch: the agent elects among its replicas in its own
   * (downstream) cluster, so N agents add no writes to the management cluster.
   */
  leaderElectionLease?: { client: LeaseClient; namespace: string; name: string };
  /** Worker threads of the selector pool, overriding the config (the agent matches no selectors: 0). */
  selectorPoolThreads?: number;
  /**
   * The cluster that authenticates and authorizes scrapes of secure metrics
   * (TokenReview, SubjectAccessReview): the one whose Prometheus scrapes this
   * process. Default `kubeConfig`; the agent's is its downstream cluster.
   */
  metricsAuthKubeConfig?: KubeConfig;
}

/**
 * Wires the runtime together, as controller-runtime's Manager does: one API
 * client, shared informers, the actor system, leader election, and the
 * metrics/health endpoints. Controllers register before `start()`.
 *
 * Reconciling is gated on two things: every informer has completed its first
 * LIST (a reconcile against a half-filled cache would delete what it cannot
 * see yet), and this replica leads. Standbys keep their caches warm and their
 * mailboxes filled, so a failover starts reconciling at once.
 */
export class Manager {
  readonly client: KubeClient;
  readonly informers: InformerFactory;
  readonly actors: ActorSystem;
  /** Selector matching in worker threads, each holding a replica of the selector index. */
  readonly pool: SelectorMatchPool;
  readonly registry: Registry;
  readonly liveness: HealthChecks;
  readonly readiness = new HealthChecks();
  readonly identity: string;
  readonly log: Logger;
  #config: FlotillaConfig;
  readonly #monitor: EventLoopMonitor;
  readonly #mainThread: MainThreadMetrics;
  readonly #servers: ObservabilityServer[];
  /** Asks for TokenReviews and SubjectAccessReviews (secure metrics only). */
  readonly #metricsAuthClient: KubeClient | undefined;
  readonly #elector: LeaderElector | undefined;
  /** Aborted when shutdown begins: readiness fails, nothing new is gated in. */
  readonly #stopping = new AbortController();
  /** Aborted after the drain: informers and the election loop stop. */
  readonly #halt = new AbortController();
  #leading: boolean;
  #synced = false;
  #electorRun: Promise<void> | undefined;
  readonly #configListeners: Array<(change: ConfigChange) => void> = [];
  #started = false;
  #eventBudget: EventBudget | undefined;
  #eventClient: KubeClient | undefined;
  readonly #kubeConfig: KubeConfig;

  constructor(opts: ManagerOptions) {
    const config = opts.config;
    this.#config = config;
    this.#kubeConfig = opts.kubeConfig;
    this.log = opts.logger;
    this.registry = opts.registry ?? createRegistry();
    this.identity = opts.identity || config.leaderElection.identity || `${hostname()}_${randomUUID().slice(0, 8)}`;
    this.actors = new ActorSystem({
      maxInFlight: config.concurrency.maxConcurrentReconciles,
      adaptive: config.concurrency.adaptive,
      minInFlight: config.concurrency.minConcurrentReconciles,
      registry: this.registry,
      logger: this.log,
    });
    this.client = new KubeClient({
      kubeConfig: opts.kubeConfig,
      registry: this.registry,
      logger: componentLogger(this.log, 'kube-client'),
      qps: config.api.qps,
      burst: config.api.burst,
      requestTimeoutMs: config.api.requestTimeoutSeconds * 1000,
      transport: config.api.transport,
      // The API server's answers steer the limit on reconciles in flight.
      flowControl: new ApiFlowControl(this.actors.inFlightLimit),
    });
    this.informers = new InformerFactory({
      client: this.client,
      registry: this.registry,
      logger: componentLogger(this.log, 'informer'),
      resyncPeriodMs: config.resyncPeriodSeconds * 1000,
      listPageSize: config.api.listPageSize,
      reflectorBackoff: reflectorBackoffSettings(config.backoff.reflector),
    });
    this.pool = new SelectorMatchPool({
      threads: opts.selectorPoolThreads ?? resolvePoolThreads(config.concurrency.poolThreads),
      maxQueue: config.concurrency.poolQueueSize,
      inlineThreshold: config.concurrency.poolInlineThreshold,
      // A worker isolate costs ~30 MiB: started when a batch first needs one, not at boot.
      lazyWorkers: true,
      ...(config.concurrency.poolWorkerMaxHeapMb > 0 ? { resourceLimits: { maxOldGenerationSizeMb: config.concurrency.poolWorkerMaxHeapMb } } : {}),
      registry: this.registry,
      logger: this.log, // it names itself: component selector-pool
    });
    registerMemoryMetrics(this.registry, { workerHeaps: () => this.pool.workerHeapStatistics() });
    this.#leading = !config.leaderElection.enabled;
    this.actors.pause();

    this.#monitor = new EventLoopMonitor({ stallThresholdMs: config.health.eventLoopStallSeconds * 1000 });
    this.liveness = livenessChecks(this.#monitor);
    this.#mainThread = new MainThreadMetrics(this.registry);
    this.readiness.add('informer-sync', () => {
      const unsynced = this.informers.unsynced();
      return unsynced.length === 0 ? true : { ok: false, reason: `waiting for first LIST of ${unsynced.join(', ')}` };
    });
    this.readiness.add('shutdown', () => (this.#stopping.signal.aborted ? { ok: false, reason: 'shutting down' } : true));
    const secureMetrics = config.metrics.secure && parseBindAddress(config.metrics.bindAddress) !== null;
    // A client of its own, outside the reconcilers' flow control: a scrape
    // must not wait for a reconcile slot, nor its reviews steer the limit.
    this.#metricsAuthClient = secureMetrics
      ? new KubeClient({
          kubeConfig: opts.metricsAuthKubeConfig ?? opts.kubeConfig,
          registry: this.registry,
          logger: componentLogger(this.log, 'metrics-auth-client'),
          requestTimeoutMs: config.api.requestTimeoutSeconds * 1000,
          transport: config.api.transport,
          userAgent: 'flotilla-metrics-auth',
        })
      : undefined;
    this.#servers = createObservabilityServers({
      metricsSecurity: this.#metricsAuthClient && {
        certificate: new ServingCertificate({ certDir: config.metrics.certDir, logger: this.log }),
        authorizer: new RequestAuthorizer({ reviewer: new KubeAccessReviewer(this.#metricsAuthClient) }),
      },
      metricsBindAddress: config.metrics.bindAddress,
      healthBindAddress: config.health.bindAddress,
      registry: this.registry,
      liveness: this.liveness,
      readiness: this.readiness,
      logger: this.log,
    });

    if (config.leaderElection.enabled) {
      const le = config.leaderElection;
      const lease = opts.leaderElectionLease ?? { client: this.client, namespace: le.namespace, name: le.leaseName };
      this.#elector = new LeaderElector({
        client: lease.client,
        namespace: lease.namespace,
        name: lease.name,
        identity: this.identity,
        leaseDurationMs: le.leaseDurationSeconds * 1000,
        renewDeadlineMs: le.renewDeadlineSeconds * 1000,
        retryPeriodMs: le.retryPeriodSeconds * 1000,
        registry: this.registry,
        logger: componentLogger(this.log, 'leader-election'),
        onStartedLeading: () => {
          this.#leading = true;
          this.#gate();
        },
        onStoppedLeading: () => {
          // Stop at once: another replica may already be writing.
          this.#leading = false;
          this.actors.pause();
        },
      });
    }
  }

  get config(): FlotillaConfig {
    return this.#config;
  }

  isLeader(): boolean {
    return this.#leading;
  }

  /** Whether reconciles may run: caches synced and leading. */
  get active(): boolean {
    return this.#synced && this.#leading && !this.#stopping.signal.aborted;
  }

  /** A controller on the shared actor system, with the config's retry and priority defaults. */
  scheduler(opts: KeySchedulerOptions): KeyScheduler {
    const b = this.#config.backoff;
    return this.actors.scheduler({
      backoff: { baseMs: b.baseDelayMs, maxMs: b.maxDelayMs, jitter: b.jitter },
      maxAttempts: b.maxAttempts,
      lowPriorityShare: this.#config.concurrency.lowPriorityShare,
      maxDeferralMs: this.#config.concurrency.maxSummaryDeferralSeconds * 1000,
      ...opts,
    });
  }

  /**
   * A controller as it declares itself (`runtime/watches.ts`): its key
   * scheduler on the shared actor system, with its watches subscribed.
   */
  register(definition: KeySchedulerOptions & { readonly watches: readonly Watch[] }): KeyScheduler {
    const { watches, ...options } = definition;
    const scheduler = this.scheduler(options);
    subscribeWatches(watches, scheduler);
    return scheduler;
  }

  /**
   * Records Kubernetes Events as `flotilla.dev/<component>` from this
   * replica, on a client of their own (as controller-runtime's recorder
   * has): an Event never takes a token of the controller's rate limit nor a
   * place among the reconciles' requests. Best-effort events of all
   * recorders share one budget, which drops them while the API server holds
   * real work back (the adaptive limit is below its ceiling after 429s or
   * slow answers) or the controller's own rate limit is exhausted.
   */
  eventRecorder(component: string): EventRecorder {
    // No rate limit of its own: the budget bounds the best-effort Events,
    // and problem Events are rare and aggregated into series.
    this.#eventClient ??= new KubeClient({
      kubeConfig: this.#kubeConfig,
      registry: this.registry,
      logger: componentLogger(this.log, 'event-client'),
      requestTimeoutMs: this.#config.api.requestTimeoutSeconds * 1000,
      transport: this.#config.api.transport,
    });
    this.#eventBudget ??= new EventBudget({
      underPressure: () => {
        const limit = this.actors.inFlightLimit;
        return (limit.enabled && limit.limit < limit.max) || this.client.rateLimited;
      },
    });
    return new EventRecorder({
      client: this.#eventClient,
      registry: this.registry,
      controller: `flotilla.dev/${component}`,
      instance: this.identity,
      logger: componentLogger(this.log, 'events'),
      budget: this.#eventBudget,
    });
  }

  /** Addresses the HTTP servers bound to (after start), e.g. for tests using port 0. */
  get addresses(): BoundAddress[] {
    return this.#servers.map((s) => s.address).filter((a): a is BoundAddress => a !== undefined);
  }

  async start(): Promise<void> {
    if (this.#started) throw new Error('manager already started');
    this.#started = true;
    this.#monitor.start();
    this.#mainThread.start();
    for (const server of this.#servers) {
      const address = await server.listen();
      // `listen` is the bound address (all interfaces for `:8443`); `url` one to reach it from this host.
      const listen = address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
      this.log.info({ listen, url: address.url, paths: server.paths, ...server.protection }, 'serving');
    }
    this.informers.start();
    void this.informers.waitForCacheSync(this.#halt.signal).then(
      () => {
        this.#synced = true;
        this.log.info('caches synced');
        this.#gate();
      },
      () => undefined,
    );
    if (this.#elector) {
      this.#electorRun = this.#elector.run(this.#halt.signal).catch((err: unknown) => {
        this.log.error({ err }, 'leader election loop failed');
      });
    }
    this.log.info({ identity: this.identity, leaderElection: this.#elector !== undefined }, 'manager started');
  }

  #gate(): void {
    if (this.active) {
      this.log.info('reconciling');
      this.actors.resume();
    }
  }

  /** Applies hot-reloadable config changes (from the config watcher). */
  applyConfig(change: ConfigChange): void {
    const next = change.next;
    this.#config = next;
    for (const field of change.changed) {
      if (field === 'concurrency.maxConcurrentReconciles') this.actors.setMaxInFlight(next.concurrency.maxConcurrentReconciles);
      else if (field === 'concurrency.minConcurrentReconciles') this.actors.setMinInFlight(next.concurrency.minConcurrentReconciles);
      else if (field === 'concurrency.adaptive') this.actors.setAdaptive(next.concurrency.adaptive);
      else if (field === 'concurrency.lowPriorityShare') this.actors.setLowPriorityShare(next.concurrency.lowPriorityShare);
      else if (field === 'concurrency.maxSummaryDeferralSeconds') this.actors.setMaxDeferral(next.concurrency.maxSummaryDeferralSeconds * 1000);
      else if (field === 'api.qps' || field === 'api.burst') this.client.setRateLimits(next.api.qps, next.api.burst);
      else if (field === 'log.level') this.log.level = next.log.level;
      else if (field === 'concurrency.poolQueueSize' || field === 'concurrency.poolInlineThreshold') {
        void this.pool
          .resize({ maxQueue: next.concurrency.poolQueueSize, inlineThreshold: next.concurrency.poolInlineThreshold })
          .catch((err: unknown) => this.log.error({ err }, 'pool resize failed'));
      }
    }
    for (const listener of this.#configListeners) {
      try {
        listener(change);
      } catch (err) {
        this.log.error({ err }, 'config change listener failed');
      }
    }
    this.log.info({ changed: change.changed }, 'configuration reloaded');
  }

  /** Controllers subscribe to hot-reloadable settings they own (e.g. workspaces). */
  onConfigChange(listener: (change: ConfigChange) => void): void {
    this.#configListeners.push(listener);
  }

  /**
   * Registers the graceful-shutdown steps, in order: stop taking work and
   * drain in-flight reconciles, release the lease (a standby takes over at
   * once instead of after expiry), stop informers, close HTTP, close the client.
   */
  registerShutdown(lifecycle: Lifecycle): void {
    const drainMs = Math.max(1000, this.#config.shutdown.timeoutSeconds * 1000 - 5000);
    lifecycle.stopping.addEventListener('abort', () => this.#stopping.abort(), { once: true });
    for (const [name, step] of this.#shutdownSteps(drainMs)) lifecycle.addStep(name, step);
  }

  /** Stops everything without a Lifecycle (tests, embedded use), in the same order. */
  async stop(drainTimeoutMs = 10_000): Promise<void> {
    this.#stopping.abort();
    for (const [, step] of this.#shutdownSteps(drainTimeoutMs)) await step();
  }

  /** The shutdown order, written once. */
  #shutdownSteps(drainMs: number): Array<[string, () => Promise<unknown>]> {
    return [
      [
        'drain reconciles',
        async () => {
          const { drained } = await this.actors.stop({ drainTimeoutMs: drainMs });
          if (!drained) this.log.warn({ drainMs }, 'reconciles still running at the drain deadline were aborted');
        },
      ],
      ['release lease', async () => this.#elector?.release()],
      [
        'stop informers',
        async () => {
          this.#halt.abort();
          await Promise.all([this.informers.stop(), this.#electorRun]);
        },
      ],
      ['close pool', () => this.pool.close()],
      [
        'close http',
        async () => {
          this.#monitor.stop();
          this.#mainThread.stop();
          await Promise.all(this.#servers.map((s) => s.close()));
        },
      ],
      ['close api client', async () => Promise.all([this.client.close(), this.#eventClient?.close(), this.#metricsAuthClient?.close()]).then(() => undefined)],
    ];
  }
}

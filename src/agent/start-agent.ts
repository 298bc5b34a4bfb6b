/**
 * Assembly of the agent: the same runtime as the controller (Manager with
 * reflector, per-key actors, metrics, health, leader election, graceful
 * shutdown, config hot reload), pointed at two clusters. Upstream (the
 * management cluster): the BundleDeployments of one deployment namespace,
 * Contents by name, the heartbeat Lease. Downstream (the cluster it deploys
 * to): server-side apply, label-selected watches of what it applied, and the
 * leader-election Lease among its replicas. The `agent` command
 * (src/cli/agent.ts) and `cluster add --run-local` start it this way.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { KindResources } from '../api/kinds.ts';
import { watchConfig } from '../config/index.ts';
import type { FlotillaConfig } from '../config/schema.ts';
import type { Logger } from '../observability/logger.ts';
import { InformerFactory } from '../runtime/informer/informer-factory.ts';
import { KubeClient } from '../runtime/kube/client.ts';
import { Lifecycle, type ShutdownStep } from '../runtime/lifecycle.ts';
import { Manager } from '../runtime/manager.ts';
import { createRegistry } from '../observability/metrics.ts';
import { forObjects, Lane, requests, watch } from '../runtime/watches.ts';
import { ensureAgentNamespace } from './agent-namespace.ts';
import { Applier } from './apply/applier.ts';
import { RestMapper } from './apply/rest-mapper.ts';
import { watchDiscoveryChanges } from './discovery-changes.ts';
import { impersonatingClients } from '../runtime/kube/impersonation.ts';
import { ContentCache } from './contents.ts';
import { ReconnectProbe, type Reachable } from './reconnect.ts';
import { Deployer, type BundleDeploymentObject } from './deployer.ts';
import { Heartbeat } from './heartbeat.ts';
import { LiveObjects, type MemberEvent } from './live-objects.ts';
import { AgentMetrics } from './metrics.ts';
import { AGENT_FIELD_MANAGER, AGENT_LEADER_LEASE } from '../registration/names.ts';
import { adoptApplySets } from './orphans.ts';
import { agentTooling } from './tooling.ts';
import { componentLogger } from '../observability/logger.ts';

export interface StartAgentOptions {
  config: FlotillaConfig;
  configPath: string;
  /** The management cluster, with the agent's own (namespace-scoped) credentials. */
  upstream: KubeConfig;
  /** The cluster to deploy to. */
  downstream: KubeConfig;
  /** The Cluster's deployment namespace on the management cluster. */
  namespace: string;
  /** The agent's namespace on the downstream cluster. */
  agentNamespace: string;
  identity?: string | undefined;
  logger: Logger;
  stepsAfter?: Array<[string, ShutdownStep]>;
}

export interface RunningAgent {
  manager: Manager;
  deployer: Deployer;
  heartbeat: Heartbeat;
  lifecycle: Lifecycle;
  downstream: KubeClient;
}

export async function startAgent(opts: StartAgentOptions): Promise<RunningAgent> {
  const { config, logger: log, namespace, agentNamespace } = opts;
  const registry = createRegistry();
  const downstream = new KubeClient({
    kubeConfig: opts.downstream,
    registry,
    logger: componentLogger(log, 'downstream-client'),
    qps: config.agent.downstreamQps,
    burst: config.agent.downstreamBurst,
    requestTimeoutMs: config.api.requestTimeoutSeconds * 1000,
    transport: config.api.transport,
    userAgent: 'flotilla-agent',
    fieldManager: AGENT_FIELD_MANAGER,
  });
  const manager = new Manager({
    config,
    kubeConfig: opts.upstream,
    logger: log,
    registry,
    ...(opts.identity ? { identity: opts.identity } : {}),
    leaderElectionLease: { client: downstream, namespace: agentNamespace, name: AGENT_LEADER_LEASE },
    selectorPoolThreads: 0,
    // The downstream cluster's Prometheus scrapes the agent, with its own tokens.
    metricsAuthKubeConfig: opts.downstream,
  });
  const lifecycle = new Lifecycle({ timeoutMs: config.shutdown.timeoutSeconds * 1000, logger: log, registry });
  lifecycle.install();

  const downstreamInformers = new InformerFactory({
    client: downstream,
    registry,
    logger: componentLogger(log, 'downstream-informer'),
    resyncPeriodMs: config.resyncPeriodSeconds * 1000,
    listPageSize: config.api.listPageSize,
  });
  const live = new LiveObjects(downstreamInformers);
  // Bundles naming a ServiceAccount are applied as that account (Impersonate-User).
  const impersonation = impersonatingClients({
    kubeConfig: opts.downstream,
    registry,
    qps: config.agent.downstreamQps,
    burst: config.agent.downstreamBurst,
    requestTimeoutMs: config.api.requestTimeoutSeconds * 1000,
    transport: config.api.transport,
    userAgent: 'flotilla-agent',
    fieldManager: AGENT_FIELD_MANAGER,
  });
  const bundleDeployments = manager.informers.for<BundleDeploymentObject>(KindResources.BundleDeployment, { namespace });
  const contents = new ContentCache({ client: manager.client, capacity: config.agent.contentCacheSize });
  const mapper = new RestMapper({ client: downstream });
  const kindsChanged = watchDiscoveryChanges(downstreamInformers, () => mapper.invalidate());
  const applier = new Applier({
    client: downstream,
    mapper,
    namespace: agentNamespace,
    tooling: agentTooling(),
    fieldManager: AGENT_FIELD_MANAGER,
    logger: componentLogger(log, 'applier'),
    clientFor: impersonation.clientFor,
  });
  const metrics = new AgentMetrics(registry, {
    bundleDeployments: () => bundleDeployments.store.size,
    watchedKinds: () => live.kinds,
    cachedContents: () => contents.size,
  });
  const reconnect = new ReconnectProbe({
    targets: [manager.client, downstream],
    watches: [manager.informers, downstreamInformers],
    logger: componentLogger(log, 'reconnect'),
  });
  const deployer = new Deployer({
    namespace,
    store: bundleDeployments.store,
    upstream: manager.client,
    contents,
    applier,
    live,
    metrics,
    reconnect,
    events: manager.eventRecorder('agent'),
  });
  const scheduler = manager.register({
    name: 'agent',
    reconcile: (rc) => deployer.reconcile(rc),
    watches: [
      forObjects(bundleDeployments),
      watch(live.events, (e: MemberEvent) => requests(deployer.keyForApplySet(e.applySetId), Lane.dependency)),
      watch(reconnect.events, (e: Reachable) => requests(e.keys, Lane.change)),
      watch(kindsChanged, () => requests(deployer.keysWithRetryableProblems(), Lane.dependency)),
    ],
  });

  const heartbeat = new Heartbeat({
    client: manager.client,
    namespace,
    identity: manager.identity,
    intervalMs: config.agent.heartbeatIntervalSeconds * 1000,
    leaseDurationSeconds: config.agent.heartbeatLeaseDurationSeconds,
    active: () => manager.active,
    registry,
    logger: componentLogger(log, 'heartbeat'),
  });

  const watcher = await watchConfig(opts.configPath, (change) => manager.applyConfig(change), { initial: config, logger: log, registry });
  lifecycle.addStep('stop heartbeat', () => Promise.all([reconnect.stop(), heartbeat.stop()]));
  manager.registerShutdown(lifecycle);
  lifecycle.addStep('stop downstream watches', () => downstreamInformers.stop());
  lifecycle.addStep('close downstream clients', () => Promise.all([downstream.close(), impersonation.close()]));
  lifecycle.addStep('stop config watcher', () => watcher.close());
  for (const [name, step] of opts.stepsAfter ?? []) lifecycle.addStep(name, step);

  void ensureAgentNamespace(downstream, agentNamespace, { signal: lifecycle.stopping, logger: log });
  await manager.start();
  downstreamInformers.start();
  heartbeat.start();
  reconnect.start();
  // ApplySets on the cluster whose BundleDeployment was deleted while no agent ran are found and removed.
  void adoptApplySets({ applier, deployer, scheduler, namespace, active: () => manager.active, stopping: lifecycle.stopping, logger: log });
  log.info({ agentNamespace, upstream: manager.client.server, downstream: downstream.server }, 'agent started');
  return { manager, deployer, heartbeat, lifecycle, downstream };
}

/**
 * The `direct` baseline's downstream half (label-flip --agents): the least
 * an agent must do to deploy a BundleDeployment, without Flotilla's runtime
 * (no work queue, no actors, no downstream watches, no re-reads). For each
 * BundleDeployment that appears in its deployment namespace upstream:
 *
 *  1. GET its Content by name (each name once: cached, concurrent reads shared);
 *  2. server-side apply the ApplySet parent ConfigMap `bd-<name>` in the agent
 *     namespace, once, with its final content (the same labels and
 *     annotations the agent writes: the durable inventory that makes the set
 *     prunable, so the comparison with the agent is like for like);
 *  3. server-side apply each manifest's object with the ApplySet part-of label;
 *  4. one status merge patch upstream saying it is applied and ready (the body
 *     the agent would write for a ready deployment).
 *
 *   node bench/baselines/direct-agent.ts --kubeconfig DOWNSTREAM --upstream-kubeconfig FILE \
 *     --namespace DEPLOYMENT_NS [--agent-namespace flotilla-system] [--concurrency 64]
 *
 * Upstream it runs with the agent's registered identity (the same RBAC and
 * API Priority and Fairness treatment as the agent); downstream with the
 * kubeconfig given (the benchmark passes the downstream admin, as it does to
 * the agent). Both clients are unlimited (qps 0). Deliberately not a product:
 * no readiness, drift, pruning or retries; an error is logged and counted.
 * It serves the metric names the benchmark reads from every system
 * (`flotilla_api_requests_total`, `workqueue_depth`,
 * `controller_runtime_active_workers`, `controller_runtime_reconcile_total`).
 */
import { parseArgs } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { Counter, Gauge } from 'prom-client';
import { KindResources as T } from '../../src/api/kinds.ts';
import { buildParent, computeApplySetId, formatGroupKind, parentName } from '../../src/agent/apply/applyset.ts';
import { ApplySetKeys } from '../../src/agent/apply/types.ts';
import { deploymentStatus, withDisplay } from '../../src/agent/deployment-status.ts';
import { agentTooling } from '../../src/agent/tooling.ts';
import { loadKubeConfig } from '../../src/controlplane/manifests.ts';
import { createRegistry } from '../../src/observability/metrics.ts';
import { Reflector } from '../../src/runtime/informer/reflector.ts';
import { Store } from '../../src/runtime/informer/store.ts';
import { KubeClient, PatchType } from '../../src/runtime/kube/client.ts';
import { BASELINE_TRANSPORT } from '../lib/api-transport.ts';
import { builtinTypes, type KubeObject, type ResourceType } from '../../src/runtime/kube/resource.ts';
import { Limiter, log } from './runtime.ts';
import { serveBaselineEndpoints, stopRequested } from '../lib/baseline-server.ts';
import { serializeError } from '../../src/observability/error-fields.ts';

const CONTROLLER = 'direct-agent';
const FIELD_MANAGER = 'flotilla-agent';
const { values } = parseArgs({
  options: {
    kubeconfig: { type: 'string' },
    'upstream-kubeconfig': { type: 'string' },
    namespace: { type: 'string' },
    'agent-namespace': { type: 'string', default: 'flotilla-system' },
    concurrency: { type: 'string', default: '64' },
  },
});
if (!values.kubeconfig || !values['upstream-kubeconfig'] || !values.namespace) throw new Error('--kubeconfig, --upstream-kubeconfig and --namespace are required');
const namespace = values.namespace;
const agentNamespace = values['agent-namespace'];
const limiter = new Limiter(Number(values.concurrency));

const registry = createRegistry({ defaultMetrics: true });
const upstream = new KubeClient({ kubeConfig: loadKubeConfig(values['upstream-kubeconfig']), registry, qps: 0, userAgent: `bench-${CONTROLLER}`, fieldManager: FIELD_MANAGER, transport: BASELINE_TRANSPORT });
const downstream = new KubeClient({ kubeConfig: loadKubeConfig(values.kubeconfig), registry, qps: 0, userAgent: `bench-${CONTROLLER}`, fieldManager: FIELD_MANAGER, transport: BASELINE_TRANSPORT });
const depth = new Gauge({ name: 'workqueue_depth', help: 'BundleDeployments waiting.', labelNames: ['name'], registers: [registry] });
const active = new Gauge({ name: 'controller_runtime_active_workers', help: 'Deployments running.', labelNames: ['controller'], registers: [registry] });
const reconciles = new Counter({ name: 'controller_runtime_reconcile_total', help: 'Deployments by result.', labelNames: ['controller', 'result'], registers: [registry] });
depth.labels(CONTROLLER).set(0);
active.labels(CONTROLLER).set(0);

/** The kinds a benchmark Bundle holds (no discovery: a baseline, not a product). */
const KINDS: Record<string, ResourceType> = {
  'v1/ConfigMap': { group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true },
  'v1/Secret': { group: '', version: 'v1', kind: 'Secret', plural: 'secrets', namespaced: true },
  'v1/Service': { group: '', version: 'v1', kind: 'Service', plural: 'services', namespaced: true },
  'apps/v1/Deployment': { group: 'apps', version: 'v1', kind: 'Deployment', plural: 'deployments', namespaced: true },
};

interface ContentObject extends KubeObject {
  spec: { resources?: Array<{ name: string; content: string }> };
}

const contents = new Map<string, Promise<ContentObject['spec']>>();
function content(name: string): Promise<ContentObject['spec']> {
  let p = contents.get(name);
  if (!p) {
    p = upstream.get<ContentObject>(T.Content, name).then((c) => c.spec);
    p.catch(() => contents.delete(name));
    contents.set(name, p);
  }
  return p;
}

let errors = 0;
let pending = 0;
/** deploymentID each BundleDeployment was deployed with (never twice). */
const deployed = new Map<string, string>();

async function deploy(bd: KubeObject & { spec?: { contentName?: string; deploymentID?: string }; status?: Record<string, unknown> }): Promise<void> {
  const name = bd.metadata.name ?? '';
  const deploymentID = bd.spec?.deploymentID ?? '';
  if (deployed.get(name) === deploymentID) return;
  deployed.set(name, deploymentID);
  pending++;
  depth.labels(CONTROLLER).set(pending);
  await limiter.run(async () => {
    pending--;
    depth.labels(CONTROLLER).set(pending);
    active.labels(CONTROLLER).inc();
    try {
      const spec = await content(bd.spec?.contentName ?? '');
      const applySetId = computeApplySetId(parentName(name), agentNamespace);
      const objects: Array<{ type: ResourceType; object: KubeObject }> = [];
      for (const r of spec.resources ?? []) {
        for (const doc of parseAllDocuments(r.content) as ReturnType<typeof parseAllDocuments> & unknown[]) {
          const object = doc.toJS() as KubeObject | null;
          if (!object) continue;
          const type = KINDS[`${object.apiVersion}/${object.kind}`];
          if (!type) throw new Error(`${r.name}: kind ${object.apiVersion}/${object.kind} not known to the baseline`);
          objects.push({
            type,
            object: { ...object, metadata: { ...object.metadata, namespace: object.metadata.namespace ?? 'default', labels: { ...object.metadata.labels, [ApplySetKeys.partOf]: applySetId } } },
          });
        }
      }
      const parent = buildParent(
        { bundleDeployment: name, namespace: agentNamespace, applySetId, tooling: agentTooling(), keepResources: false },
        {
          groupKinds: [...new Set(objects.map((o) => formatGroupKind(o.type)))].sort(),
          namespaces: [...new Set(objects.map((o) => o.object.metadata.namespace ?? ''))].filter((n) => n !== agentNamespace).sort(),
          deploymentID,
        },
      );
      await downstream.apply(builtinTypes.configMap, parent, { fieldManager: FIELD_MANAGER, force: true });
      const refs = [];
      for (const o of objects) {
        await downstream.apply(o.type, o.object, { fieldManager: FIELD_MANAGER, force: true });
        refs.push({ apiVersion: o.object.apiVersion ?? 'v1', kind: o.object.kind ?? '', namespace: o.object.metadata.namespace, name: o.object.metadata.name ?? '' });
      }
      const status = withDisplay(
        deploymentStatus({
          generation: bd.metadata.generation,
          appliedDeploymentID: deploymentID,
          problems: [],
          observations: refs.map((ref) => ({ ref, state: 'Current' as const, message: '', drifted: [], missing: false })),
          monitored: true,
          paused: false,
          previous: undefined,
          now: new Date(),
        }),
        deploymentID,
      );
      await upstream.patch(T.BundleDeployment, name, namespace, { status }, { contentType: PatchType.merge, subresource: 'status' });
      reconciles.labels(CONTROLLER, 'success').inc();
    } catch (err) {
      errors++;
      reconciles.labels(CONTROLLER, 'error').inc();
      log('deploy failed', { bundleDeployment: name, errors, err: serializeError(err) }, 'error');
    } finally {
      active.labels(CONTROLLER).dec();
    }
  });
}

const store = new Store<KubeObject>();
store.addHandler({
  onAdd: (bd) => void deploy(bd),
  onUpdate: (_old, bd, resync) => {
    if (!resync) void deploy(bd);
  },
  onDelete: (bd) => deployed.delete(bd.metadata.name ?? ''),
});
const reflector = new Reflector<KubeObject>({ client: upstream, registry, type: T.BundleDeployment, store, namespace });

let synced = false;
const server = await serveBaselineEndpoints(registry, () => synced, log);
const stopping = stopRequested();

reflector.start();
await reflector.synced;
synced = true;
log('informer synced', { bundleDeployments: store.size });
await stopping;
await reflector.stop();
await Promise.all([upstream.close(), downstream.close()]);
server.close();
log('exiting', { errors, resourceUsage: process.resourceUsage() });
process.exit(0);

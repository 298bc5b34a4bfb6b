/**
 * Flotilla as real pods: the image built without Docker or a registry
 * (src/controlplane/flotilla-image.ts), imported into a local node's
 * containerd, and config/default applied with the real kubectl, unchanged,
 * as the README says. Then what operators rely on, for real: both replicas
 * Ready under the shipped ServiceAccount and RBAC, leader handover when the
 * leader's pod is deleted, a ConfigMap edit hot-reloaded in the pods, a
 * rollout restart that drains (exit 0, Lease handed over), metrics behind
 * the Service, and an agent installed by `flotilla cluster add` as a
 * Deployment in a second cluster with its own node, deploying a Bundle's
 * Deployment there.
 *
 * Measured and printed: image size, apply → Ready, handover, drain.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { AppsV1Api, CoordinationV1Api, CoreV1Api, CustomObjectsApi, Watch, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { GROUP, VERSION } from '../../src/api/constants.ts';
import { buildFlotillaImage, FLOTILLA_IMAGE_REPOSITORY, type FlotillaImage } from '../../src/controlplane/flotilla-image.ts';
import { startControlPlane, type ControlPlane } from '../../src/controlplane/harness.ts';
import { httpGet } from '../../src/controlplane/health.ts';
import { REPO_ROOT } from '../support/flotilla.ts';
import { loadKubeConfig, waitFor } from '../support/kube.ts';
import { kubectl, kubectlOk } from '../support/kubectl.ts';
import { parseMetrics } from '../support/metrics.ts';
import { BUSYBOX_IMAGE, busyboxImageArchive } from '../support/node-images.ts';
import { runCli, type CliResult } from '../support/cli.ts';

const execFileAsync = promisify(execFile);
const NS = 'flotilla-system';
const DEPLOYMENT = 'flotilla-controller';
const LEASE = 'flotilla-controller';
const SELECTOR = 'app.kubernetes.io/name=flotilla,app.kubernetes.io/component=controller';
const SCRAPER = 'metrics-scraper';
const WORKSPACE = 'team-edge';

const numbers: Array<[string, string]> = [];
function record(what: string, value: string): void {
  numbers.push([what, value]);
  console.log(`# ${what}: ${value}`);
}
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

let mgmt: ControlPlane | undefined;
let downstream: ControlPlane | undefined;
let admin: KubeConfig;
let core: CoreV1Api;
let apps: AppsV1Api;
let leases: CoordinationV1Api;
let image: FlotillaImage;
let scratch: string;

before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'flotilla-pods-test-'));
  const built = Date.now();
  [image, mgmt] = await Promise.all([buildFlotillaImage(), startControlPlane({ node: { name: 'mgmt-node' } })]);
  record('image', `${(image.sizeBytes / 1e6).toFixed(0)} MB (${image.cached ? 'cached' : `built in ${seconds(Date.now() - built)}`}; ${image.names.join(', ')})`);
  const imported = Date.now();
  await mgmt.node!.importImage(image.file);
  record('image import (ctr images import)', seconds(Date.now() - imported));
  admin = loadKubeConfig(mgmt.adminKubeconfig);
  core = admin.makeApiClient(CoreV1Api);
  apps = admin.makeApiClient(AppsV1Api);
  leases = admin.makeApiClient(CoordinationV1Api);
});

after(async () => {
  await Promise.allSettled([mgmt?.stop(), downstream?.stop()]);
  if (scratch) await rm(scratch, { recursive: true, force: true });
  console.log(`pods on a local node:\n${numbers.map(([what, value]) => `  ${what.padEnd(68)} ${value}`).join('\n')}`);
});

async function controllerPods(): Promise<V1Pod[]> {
  return (await core.listNamespacedPod({ namespace: NS, labelSelector: SELECTOR })).items;
}

async function leaseHolder(): Promise<string> {
  const lease = await leases.readNamespacedLease({ namespace: NS, name: LEASE });
  return lease.spec?.holderIdentity ?? '';
}

/** The leader election identity is `<pod name>_<random suffix>`. */
const podOf = (identity: string) => identity.split('_')[0] ?? '';

async function waitForTwoReady(description: string, timeoutMs = 120_000): Promise<V1Pod[]> {
  return waitFor(async () => {
    const deployment = await apps.readNamespacedDeployment({ namespace: NS, name: DEPLOYMENT });
    const status = deployment.status;
    const settled = status?.readyReplicas === 2 && status.updatedReplicas === 2 && status.replicas === 2 && status.observedGeneration === deployment.metadata?.generation;
    if (!settled) return undefined;
    const pods = (await controllerPods()).filter((p) => !p.metadata?.deletionTimestamp);
    return pods.length === 2 && pods.every((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) ? pods : undefined;
  }, { timeoutMs, intervalMs: 200, description });
}

async function metricsOf(podIp: string, token: string) {
  const response = await httpGet(`https://${podIp}:8443/metrics`, { tls: { insecure: true }, headers: { authorization: `Bearer ${token}` } });
  assert.equal(response.status, 200, `GET https://${podIp}:8443/metrics with the scraper's token: ${response.body}`);
  return parseMetrics(response.body);
}

async function scraperToken(): Promise<string> {
  return (await kubectlOk(mgmt!.adminKubeconfig, ['-n', NS, 'create', 'token', SCRAPER])).trim();
}

test('the image has the Dockerfile\'s layout, user, entrypoint and environment, and no npm', async () => {
  // Everything but the 220 MB layer is unpacked; the layer is only listed, streamed.
  const unpacked = join(scratch, 'image');
  await mkdir(unpacked);
  const { stdout: members } = await execFileAsync('tar', ['-tvf', image.file]);
  const largest = members.split('\n').filter(Boolean).map((line) => line.split(/\s+/)).sort((a, b) => Number(b[2]) - Number(a[2]))[0]?.[5] ?? '';
  await execFileAsync('tar', ['-xf', image.file, '-C', unpacked, `--exclude=${largest}`]);
  const blob = (digest: string) => join(unpacked, 'blobs', 'sha256', digest.replace(/^sha256:/, ''));
  const index = JSON.parse(await readFile(join(unpacked, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string; annotations: Record<string, string> }> };
  assert.deepEqual(index.manifests.map((m) => m.annotations['io.containerd.image.name']), image.names);
  const manifest = JSON.parse(await readFile(blob(index.manifests[0]!.digest), 'utf8')) as { config: { digest: string }; layers: Array<{ digest: string }> };
  const config = JSON.parse(await readFile(blob(manifest.config.digest), 'utf8')) as { config: Record<string, unknown> };
  // What the Dockerfile's final stage declares.
  assert.deepEqual(config.config.Entrypoint, ['node', 'dist/src/cli/main.js', 'run', '--no-local']);
  assert.equal(config.config.User, '65532:65532');
  assert.equal(config.config.WorkingDir, '/app');
  assert.ok((config.config.Env as string[]).includes('NODE_ENV=production'));
  assert.deepEqual(Object.keys(config.config.ExposedPorts as object).sort(), ['8081/tcp', '8443/tcp']);

  const layerMember = `blobs/sha256/${manifest.layers[0]!.digest.replace(/^sha256:/, '')}`;
  assert.equal(largest, layerMember, 'the layer is the large member');
  const { stdout: listing } = await execFileAsync('sh', ['-c', 'tar -xOf "$0" "$1" | tar -tvf -', image.file, layerMember], { maxBuffer: 64 << 20 });
  const paths = listing.split('\n').map((line) => line.split(/\s+/).slice(5).join(' ').replace(/ -> .*/, ''));
  for (const path of ['./app/dist/src/cli/main.js', './app/dist/workers/selector-worker.js', './app/package.json', './app/config/flotilla.yaml', './app/node_modules/@kubernetes/client-node/package.json', './usr/local/bin/node', './etc/passwd']) {
    assert.ok(paths.includes(path), `the image has ${path}`);
  }
  assert.match(listing, /^drwxrwxrwt 0\/0 .* \.\/tmp\/$/m, '/tmp is world-writable and sticky, for the nonroot user');
  for (const absent of [/\/npm(\/|$)/, /^\.\/app\/node_modules\/typescript\//, /^\.\/app\/node_modules\/node\//, /^\.\/app\/src\//, /^\.\/app\/dist\/.*\.test\.js$/]) {
    assert.ok(!paths.some((p) => absent.test(p)), `nothing matching ${absent} in the image`);
  }
  // Exactly the pinned Node's shared libraries: the rest of the image is /app, /etc and /tmp.
  const libraries = paths.filter((p) => /\.so(\.\d+)*$/.test(p) && !p.startsWith('./app/'));
  assert.ok(libraries.some((p) => p.includes('libc.so.6')) && libraries.some((p) => p.includes('libstdc++.so.6')), `glibc and libstdc++: ${libraries.join(', ')}`);
  assert.ok(libraries.length <= 8, `only what ldd lists for node: ${libraries.join(', ')}`);
  await rm(unpacked, { recursive: true, force: true });
});

test('kubectl apply -k config/default runs both replicas Ready under the shipped ServiceAccount, one holding the Lease', async () => {
  const deployment = readFileSync(join(REPO_ROOT, 'config/manager/deployment.yaml'), 'utf8');
  assert.match(deployment, /^\s+image: flotilla:latest$/m, 'the shipped Deployment runs flotilla:latest, which CRI resolves to the imported docker.io/library/flotilla:latest');
  assert.ok(image.names.includes(`${FLOTILLA_IMAGE_REPOSITORY}:latest`));

  const applied = Date.now();
  await kubectlOk(mgmt!.adminKubeconfig, ['apply', '--server-side', '-k', 'config/default'], { cwd: REPO_ROOT });
  const pods = await waitForTwoReady('both controller replicas to be Ready');
  record('kubectl apply → 2 replicas Ready', seconds(Date.now() - applied));
  await kubectlOk(mgmt!.adminKubeconfig, ['-n', NS, 'rollout', 'status', `deployment/${DEPLOYMENT}`, '--timeout=30s']);

  for (const pod of pods) {
    assert.equal(pod.spec?.serviceAccountName, 'flotilla-controller');
    assert.equal(pod.spec?.nodeName, mgmt!.node!.name);
    const container = pod.status?.containerStatuses?.[0];
    assert.equal(container?.ready, true);
    assert.equal(container?.started, true, 'the startup probe passed');
    // Both tags name one image; the CRI reports either.
    assert.ok(image.names.includes(container?.image ?? ''), `runs the imported image (${container?.image})`);
  }
  const holder = await waitFor(async () => podOf(await leaseHolder()) || undefined, { timeoutMs: 30_000, description: 'a replica to hold the Lease' });
  assert.ok(pods.some((p) => p.metadata?.name === holder), `the Lease holder ${holder} is one of the pods`);
  // In the pod, as uid 65532 with a read-only root: the controller synced its caches with the shipped RBAC.
  const logs = await kubectlOk(mgmt!.adminKubeconfig, ['-n', NS, 'logs', holder]);
  assert.match(logs, /"msg":"became leader/);
  assert.doesNotMatch(logs, /forbidden/i, 'no RBAC denial in the leader\'s log');
});

test('metrics through the Service: its endpoints scraped with a metrics-reader token, as a ServiceMonitor does; the API server\'s service proxy drops the token', async () => {
  await kubectlOk(mgmt!.adminKubeconfig, ['-n', NS, 'create', 'serviceaccount', SCRAPER]);
  await kubectlOk(mgmt!.adminKubeconfig, ['create', 'clusterrolebinding', SCRAPER, '--clusterrole=flotilla-metrics-reader', `--serviceaccount=${NS}:${SCRAPER}`]);
  const token = await scraperToken();
  const adminTls = { ca: readFileSync(mgmt!.caFile, 'utf8'), cert: readFileSync(join(mgmt!.dir, 'pki', 'admin.crt'), 'utf8'), key: readFileSync(join(mgmt!.dir, 'pki', 'admin.key'), 'utf8') };
  const proxyPath = `/api/v1/namespaces/${NS}/services/https:flotilla-controller-metrics:8443/proxy/metrics`;
  // The Service's EndpointSlice lists both pods once they are Ready.
  let endpoints: string[] = [];
  await waitFor(async () => {
    const slices = await kubectlOk(mgmt!.adminKubeconfig, ['-n', NS, 'get', 'endpointslices', '-l', 'kubernetes.io/service-name=flotilla-controller-metrics', '-o', 'jsonpath={.items[*].endpoints[*].addresses[*]}']);
    endpoints = slices.trim().split(/\s+/).filter(Boolean);
    return endpoints.length === 2;
  }, { timeoutMs: 30_000, description: 'the metrics Service to have both pods as endpoints' });
  // The proxy routes to a pod (its answer is the pod's own 401), but the API
  // server's authentication filter deletes the Authorization header after
  // authenticating the caller, so the metrics endpoint never sees the token.
  const proxied = await httpGet(`${mgmt!.apiServerUrl}${proxyPath}`, { tls: adminTls, headers: { authorization: `Bearer ${token}` } });
  assert.equal(proxied.status, 401, `through the service proxy: ${proxied.status} ${proxied.body.slice(0, 200)}`);

  // Hence a scraper scrapes the Service's endpoints directly, as Prometheus
  // does for a ServiceMonitor (it discovers the EndpointSlices, then dials each address).
  const podIps = (await controllerPods()).map((p) => p.status?.podIP ?? '');
  assert.deepEqual([...endpoints].sort(), [...podIps].sort(), 'the Service selects exactly the controller pods');
  const unauthenticated = await httpGet(`https://${endpoints[0]}:8443/metrics`, { tls: { insecure: true } });
  assert.equal(unauthenticated.status, 401, 'no token: 401');
  const masters = await Promise.all(endpoints.map(async (ip) => (await metricsOf(ip, token)).sum('leader_election_master_status', { name: LEASE })));
  assert.deepEqual(masters.sort(), [0, 1], 'one leader, one standby');
});

test('a ConfigMap edit reaches the pods and is hot-reloaded, without a restart', async () => {
  const before = await controllerPods();
  const configMap = await core.readNamespacedConfigMap({ namespace: NS, name: 'flotilla-config' });
  const text = configMap.data?.['flotilla.yaml'] ?? '';
  assert.match(text, /^ {2}maxConcurrentReconciles: 64$/m);
  const edited = Date.now();
  await core.replaceNamespacedConfigMap({
    namespace: NS,
    name: 'flotilla-config',
    body: { ...configMap, data: { ...configMap.data, 'flotilla.yaml': text.replace(/^ {2}maxConcurrentReconciles: 64$/m, '  maxConcurrentReconciles: 32') } },
  });
  const token = await scraperToken();
  await waitFor(async () => {
    const applied = await Promise.all(before.map(async (p) => (await metricsOf(p.status?.podIP ?? '', token)).sum('flotilla_config_reloads_total', { result: 'applied' })));
    return applied.every((n) => n >= 1);
  }, { timeoutMs: 120_000, intervalMs: 500, description: 'both pods to reload the edited config (flotilla_config_reloads_total{result="applied"})' });
  record('ConfigMap edit → reloaded in both pods', seconds(Date.now() - edited));
  for (const pod of before) {
    const logs = await kubectlOk(mgmt!.adminKubeconfig, ['-n', NS, 'logs', pod.metadata!.name!]);
    const reloaded = logs.split('\n').filter((line) => line.includes('"msg":"configuration reloaded"'));
    assert.equal(reloaded.length, 1, `${pod.metadata!.name} logs one reload:\n${reloaded.join('\n')}`);
    assert.deepEqual((JSON.parse(reloaded[0]!) as { changed: string[] }).changed, ['concurrency.maxConcurrentReconciles']);
  }
  const after = await controllerPods();
  assert.deepEqual(after.map((p) => `${p.metadata?.uid}:${p.status?.containerStatuses?.[0]?.restartCount}`).sort(), before.map((p) => `${p.metadata?.uid}:0`).sort(), 'same pods, no restarts');
});

test('deleting the leader\'s pod hands the Lease over within seconds', async () => {
  const leader = podOf(await leaseHolder());
  const standby = (await controllerPods()).map((p) => p.metadata?.name ?? '').find((name) => name !== leader);
  assert.ok(leader && standby);
  const deleted = Date.now();
  await core.deleteNamespacedPod({ namespace: NS, name: leader });
  // The leader clears the Lease's holder on SIGTERM. Whoever tries next
  // takes it: the warm standby (it retries every 2-4.4 s, client-go's
  // jittered retryPeriod) or the ReplicaSet's replacement pod, which starts
  // in ~1.5 s on this node and campaigns at once. Either way not after the
  // 15 s lease duration.
  const next = await waitFor(async () => {
    const holder = podOf(await leaseHolder());
    return holder && holder !== leader ? holder : undefined;
  }, { timeoutMs: 30_000, intervalMs: 100, description: `a replica other than ${leader} to take the Lease` });
  const handover = Date.now() - deleted;
  record(`leader pod deleted → Lease held again (by the ${next === standby ? 'standby' : 'replacement pod'})`, seconds(handover));
  assert.ok(handover < 10_000, `handover took ${handover} ms`);
  await waitForTwoReady('the replacement replica to be Ready');
  assert.ok(!(await controllerPods()).some((p) => p.metadata?.name === leader), 'the deleted leader is gone');
});

test('kubectl rollout restart drains: old pods exit 0, the Lease is handed over at once', async () => {
  const old = new Set((await controllerPods()).map((p) => p.metadata?.name ?? ''));
  const oldLeader = podOf(await leaseHolder());
  // Container exits, as the kubelet reports them before the pod object goes.
  const exits = new Map<string, { exitCode: number | undefined; reason: string | undefined; deletedAt?: number; exitedAt?: number }>();
  const watch = await new Watch(admin).watch(`/api/v1/namespaces/${NS}/pods`, { labelSelector: SELECTOR }, (_type: string, pod: V1Pod) => {
    const name = pod.metadata?.name ?? '';
    if (!old.has(name)) return;
    const entry = exits.get(name) ?? { exitCode: undefined, reason: undefined };
    if (pod.metadata?.deletionTimestamp && entry.deletedAt === undefined) entry.deletedAt = Date.now();
    const terminated = pod.status?.containerStatuses?.[0]?.state?.terminated;
    if (terminated && entry.exitedAt === undefined) {
      entry.exitedAt = Date.now();
      entry.exitCode = terminated.exitCode;
      entry.reason = terminated.reason;
    }
    exits.set(name, entry);
  }, () => {});
  const holders: Array<{ at: number; holder: string }> = [];
  let polling = true;
  const leasePoll = (async () => {
    while (polling) {
      const holder = await leaseHolder().catch(() => undefined);
      if (holder !== undefined && holders.at(-1)?.holder !== holder) holders.push({ at: Date.now(), holder });
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  try {
    const restarted = Date.now();
    await kubectlOk(mgmt!.adminKubeconfig, ['-n', NS, 'rollout', 'restart', `deployment/${DEPLOYMENT}`]);
    await kubectlOk(mgmt!.adminKubeconfig, ['-n', NS, 'rollout', 'status', `deployment/${DEPLOYMENT}`, '--timeout=180s'], { timeoutMs: 200_000 });
    const pods = await waitForTwoReady('the restarted replicas to be Ready');
    await waitFor(async () => (await controllerPods()).every((p) => !old.has(p.metadata?.name ?? '')), { timeoutMs: 60_000, description: 'the old pods to be gone' });
    record('rollout restart → rolled out, old pods gone', seconds(Date.now() - restarted));

    await waitFor(() => [...old].every((name) => exits.get(name)?.exitedAt !== undefined), { timeoutMs: 10_000, description: 'an exit status for each old pod' });
    for (const name of old) {
      const exit = exits.get(name)!;
      assert.deepEqual({ name, exitCode: exit.exitCode, reason: exit.reason }, { name, exitCode: 0, reason: 'Completed' }, `${name} exited 0 after SIGTERM`);
      record(`drain of ${name === oldLeader ? 'the leader' : 'the standby'} (deletion → exit 0)`, seconds((exit.exitedAt ?? 0) - (exit.deletedAt ?? 0)));
    }
    const newNames = new Set(pods.map((p) => p.metadata?.name ?? ''));
    await waitFor(async () => newNames.has(podOf(await leaseHolder())), { timeoutMs: 30_000, description: 'a new replica to hold the Lease' });
    // The old leader released the Lease as it stopped: the next holder took it
    // within a few retry periods, not after the 15 s lease duration.
    const leaderExit = exits.get(oldLeader)!.exitedAt!;
    const next = holders.find((h) => h.at >= leaderExit - 1000 && podOf(h.holder) !== oldLeader && h.holder !== '');
    assert.ok(next, `a new holder after ${oldLeader} exited; holders seen: ${JSON.stringify(holders)}`);
    record('leader exit → next holder', seconds(Math.max(0, next.at - leaderExit)));
    assert.ok(next.at - leaderExit < 10_000, `the Lease moved ${next.at - leaderExit} ms after the leader exited`);
  } finally {
    polling = false;
    watch.abort();
    await leasePoll;
  }
});

test('an agent installed by `flotilla cluster add` runs as a Deployment downstream and deploys a Bundle\'s Deployment there', async () => {
  downstream = await startControlPlane({ node: { name: 'edge-node' } });
  await downstream.node!.importImage(image.file);
  await downstream.node!.importImage((await busyboxImageArchive(scratch)).file);

  // The agent dials the management API server at its `kubernetes` Service
  // IP: the management node puts it on its bridge, so it is a local address
  // of this machine that the downstream pods reach through their gateway,
  // and the API server's serving certificate names it.
  const mgmtServiceIp = (await core.readNamespacedService({ namespace: 'default', name: 'kubernetes' })).spec?.clusterIP;
  assert.ok(mgmtServiceIp);
  await core.createNamespace({ body: { metadata: { name: WORKSPACE, labels: { 'flotilla.dev/workspace': 'true' } } } });
  const added = await flotilla([
    'cluster', 'add', 'edge', '-n', WORKSPACE,
    '--kubeconfig', downstream.adminKubeconfig,
    '--upstream-kubeconfig', mgmt!.adminKubeconfig,
    '--upstream-server', `https://${mgmtServiceIp}:443`,
    '--image', 'flotilla:latest',
    '--labels', 'env=edge',
    '--timeout', '60s',
  ]);
  assert.equal(added.code, 0, `cluster add:\n${added.stdout}\n${added.stderr}`);

  const downstreamApps = loadKubeConfig(downstream.adminKubeconfig).makeApiClient(AppsV1Api);
  const agentReady = Date.now();
  await waitFor(async () => (await downstreamApps.readNamespacedDeployment({ namespace: NS, name: 'flotilla-agent' })).status?.readyReplicas === 1, {
    timeoutMs: 120_000,
    intervalMs: 250,
    description: 'the agent Deployment downstream to be Ready',
  });
  record('cluster add → agent pod Ready downstream', seconds(Date.now() - agentReady));
  const downstreamCore = loadKubeConfig(downstream.adminKubeconfig).makeApiClient(CoreV1Api);
  const upstreamSecret = await downstreamCore.readNamespacedSecret({ namespace: NS, name: 'flotilla-agent-upstream' });
  const agentKubeconfig = Buffer.from(upstreamSecret.data?.kubeconfig ?? '', 'base64').toString('utf8');
  assert.match(agentKubeconfig, new RegExp(`server: https://${mgmtServiceIp.replace(/\./g, '\\.')}:443\\b`), 'the agent dials the management kubernetes Service IP');
  const agentPods = (await downstreamCore.listNamespacedPod({ namespace: NS, labelSelector: 'app.kubernetes.io/component=agent' })).items;
  assert.equal(agentPods.length, 1);
  assert.equal(agentPods[0]?.spec?.nodeName, downstream.node!.name, 'the agent runs as a pod on the downstream node');
  assert.ok(image.names.includes(agentPods[0]?.status?.containerStatuses?.[0]?.image ?? ''), 'from the local Flotilla image');
  const custom = admin.makeApiClient(CustomObjectsApi);
  await waitFor(async () => {
    const cluster = (await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: WORKSPACE, plural: 'clusters', name: 'edge' })) as { status?: { conditions?: Array<{ type: string; status: string }> } };
    return cluster.status?.conditions?.some((c) => c.type === 'AgentConnected' && c.status === 'True');
  }, { timeoutMs: 60_000, intervalMs: 250, description: 'Cluster edge to report AgentConnected (the agent pod reached the management API server)' });

  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'hello' },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'hello' } },
      template: {
        metadata: { labels: { app: 'hello' } },
        spec: {
          containers: [{
            name: 'web',
            image: BUSYBOX_IMAGE,
            imagePullPolicy: 'Never',
            command: ['/bin/sh', '-c', 'mkdir -p /www && echo hello from the edge > /www/index.html && exec httpd -f -p 8080 -h /www'],
            readinessProbe: { httpGet: { path: '/index.html', port: 8080 }, periodSeconds: 1 },
          }],
        },
      },
    },
  };
  const bundleCreated = Date.now();
  await custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: WORKSPACE,
    plural: 'bundles',
    body: {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'Bundle',
      metadata: { name: 'hello', namespace: WORKSPACE },
      spec: {
        options: { defaultNamespace: 'hello' },
        resources: [
          { name: 'namespace.yaml', content: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'hello' } }) },
          { name: 'deployment.yaml', content: JSON.stringify(deployment) },
        ],
        targets: [{ name: 'edge', clusterSelector: { matchLabels: { env: 'edge' } } }],
      },
    },
  });
  const ready = await waitFor(async () => {
    const live = await downstreamApps.readNamespacedDeployment({ namespace: 'hello', name: 'hello' });
    return live.status?.readyReplicas === 1 ? live : undefined;
  }, { timeoutMs: 120_000, intervalMs: 250, description: 'the Bundle\'s Deployment to be Ready downstream' });
  assert.equal(ready.metadata?.namespace, 'hello');
  const downstreamPods = (await downstreamCore.listNamespacedPod({ namespace: 'hello', labelSelector: 'app=hello' })).items;
  assert.equal(downstreamPods[0]?.spec?.nodeName, downstream.node!.name);
  const page = await httpGet(`http://${downstreamPods[0]?.status?.podIP}:8080/index.html`);
  assert.equal(page.body.trim(), 'hello from the edge');

  await waitFor(async () => {
    const bundle = (await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: WORKSPACE, plural: 'bundles', name: 'hello' })) as { status?: { conditions?: Array<{ type: string; status: string }> } };
    return bundle.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
  }, { timeoutMs: 120_000, intervalMs: 250, description: 'Bundle hello to report Ready on the management cluster' });
  record('Bundle created → Deployment Ready downstream, Bundle Ready upstream', seconds(Date.now() - bundleCreated));
  const shown = await kubectl(mgmt!.adminKubeconfig, ['-n', WORKSPACE, 'get', 'bundle', 'hello']);
  console.log(shown.stdout.trimEnd());
});

function flotilla(args: string[]): Promise<CliResult> {
  return runCli(args, { timeoutMs: 180_000 });
}

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { AppsV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { runControlplaneCommand } from '../../src/controlplane/cli.ts';
import { startControlPlane, type ControlPlane, type ControlPlaneState } from '../../src/controlplane/harness.ts';
import { httpGet } from '../../src/controlplane/health.ts';
import { isPidAlive } from '../../src/controlplane/lock.ts';
import { cgroupHierarchies, type NodeState } from '../../src/controlplane/node.ts';
import { copyExecutableWithLibraries, writeOciImageArchive } from '../../src/controlplane/oci-image.ts';
import { loadKubeConfig, waitFor } from '../support/kube.ts';
import { kubectlOk } from '../support/kubectl.ts';
import { BUSYBOX_IMAGE, busyboxImageArchive } from '../support/node-images.ts';

// A control plane with a real node (kubelet + containerd + bridge CNI): pods
// run. The workload image is Debian's busybox-static packed into an OCI
// archive and imported, since the node has no registry to pull from.

const execFileAsync = promisify(execFile);
const IMAGE = BUSYBOX_IMAGE;
// The pinned Node binary with its shared libraries: what a Flotilla image needs to run.
const NODE_IMAGE = 'flotilla.local/node:1';
const NAMESPACE = 'default';

let cp: ControlPlane;
let admin: KubeConfig;
let core: CoreV1Api;
let apps: AppsV1Api;
let scratch: string;

before(async () => {
  cp = await startControlPlane({ node: true });
  admin = loadKubeConfig(cp.adminKubeconfig);
  core = admin.makeApiClient(CoreV1Api);
  apps = admin.makeApiClient(AppsV1Api);

  scratch = await mkdtemp(join(tmpdir(), 'flotilla-node-test-'));
  const archive = await busyboxImageArchive(scratch);
  await node().importImage(archive.file);

  const nodeRootfs = join(scratch, 'node-rootfs');
  await copyExecutableWithLibraries(process.execPath, nodeRootfs, '/usr/local/bin/node');
  const nodeArchive = await writeOciImageArchive({ name: NODE_IMAGE, rootfsDir: nodeRootfs, entrypoint: ['/usr/local/bin/node'] }, join(scratch, 'node.tar'));
  await node().importImage(nodeArchive.file);
});

after(async () => {
  await cp?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

function node() {
  assert.ok(cp.node, 'the control plane was started with a node');
  return cp.node;
}

test('the node registers Ready, with the pinned kubelet, the machine\'s containerd and its bridge address', async () => {
  const registered = await core.readNode({ name: node().name });
  assert.equal(registered.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
  assert.equal(registered.status?.nodeInfo?.kubeletVersion, cp.kubernetesVersion);
  assert.match(registered.status?.nodeInfo?.containerRuntimeVersion ?? '', /^containerd:\/\//);
  assert.deepEqual(registered.status?.addresses?.filter((a) => a.type === 'InternalIP').map((a) => a.address), [node().nodeIp]);
  // The kubelet registers with a not-ready taint; the node-lifecycle
  // controller lifts it once the node is Ready, or nothing gets scheduled.
  await waitFor(async () => {
    const current = await core.readNode({ name: node().name });
    return !(current.spec?.taints ?? []).some((t) => t.key === 'node.kubernetes.io/not-ready');
  }, { timeoutMs: 30_000, description: 'the not-ready taint to be removed' });
});

test('a Deployment\'s pods are scheduled, get pod-network addresses and serve on them', async () => {
  await apps.createNamespacedDeployment({
    namespace: NAMESPACE,
    body: {
      metadata: { name: 'web' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: {
            containers: [{
              name: 'web',
              image: IMAGE,
              imagePullPolicy: 'Never',
              command: ['/bin/sh', '-c', 'mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www'],
              readinessProbe: { httpGet: { path: '/index.html', port: 8080 }, periodSeconds: 1 },
            }],
          },
        },
      },
    },
  });
  await waitFor(async () => (await apps.readNamespacedDeployment({ namespace: NAMESPACE, name: 'web' })).status?.readyReplicas === 2, {
    timeoutMs: 60_000,
    description: 'both replicas of Deployment web to be ready',
  });
  const pods = (await core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: 'app=web' })).items;
  assert.equal(pods.length, 2);
  const subnetPrefix = node().podSubnet.replace(/0\/24$/, '');
  for (const pod of pods) {
    assert.equal(pod.spec?.nodeName, node().name);
    const podIp = pod.status?.podIP ?? '';
    assert.ok(podIp.startsWith(subnetPrefix) && podIp !== node().nodeIp, `pod IP ${podIp} is in the node's pod subnet ${node().podSubnet}`);
    const page = await httpGet(`http://${podIp}:8080/index.html`);
    assert.deepEqual({ status: page.status, body: page.body.trim() }, { status: 200, body: pod.metadata?.name });
  }
});

test('kubectl logs and exec reach the kubelet through the API server', async () => {
  await core.createNamespacedPod({
    namespace: NAMESPACE,
    body: {
      metadata: { name: 'greeter' },
      spec: {
        hostNetwork: true,
        containers: [{ name: 'main', image: IMAGE, imagePullPolicy: 'Never', command: ['/bin/sh', '-c', 'echo hello from the node; exec sleep 3600'] }],
      },
    },
  });
  await waitFor(async () => (await core.readNamespacedPod({ namespace: NAMESPACE, name: 'greeter' })).status?.phase === 'Running', {
    timeoutMs: 60_000,
    description: 'pod greeter to run',
  });
  await waitFor(async () => (await kubectlOk(cp.adminKubeconfig, ['logs', '-n', NAMESPACE, 'greeter'])).includes('hello from the node'), {
    timeoutMs: 30_000,
    description: 'kubectl logs to show the container\'s output',
  });
  assert.equal((await kubectlOk(cp.adminKubeconfig, ['exec', '-n', NAMESPACE, 'greeter', '--', 'echo', 'exec works'])).trim(), 'exec works');
});

test('a pod reaches the API server through the kubernetes Service with its service-account token', async () => {
  // What any in-cluster client (Flotilla's own Deployment included) does:
  // KUBERNETES_SERVICE_HOST/PORT, the mounted token and kube-root-ca.crt.
  const script = `
    const dir = '/var/run/secrets/kubernetes.io/serviceaccount';
    const fs = require('node:fs');
    const https = require('node:https');
    const req = https.request({
      host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT,
      path: '/apis/authentication.k8s.io/v1/selfsubjectreviews', method: 'POST',
      ca: fs.readFileSync(dir + '/ca.crt'),
      headers: { authorization: 'Bearer ' + fs.readFileSync(dir + '/token', 'utf8'), 'content-type': 'application/json' },
    }, (res) => { let body = ''; res.on('data', (c) => body += c); res.on('end', () => console.log(res.statusCode, JSON.parse(body).status.userInfo.username)); });
    req.on('error', (e) => { console.log('error', e.message); process.exitCode = 1; });
    req.end(JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' }));`;
  await core.createNamespacedPod({
    namespace: NAMESPACE,
    body: {
      metadata: { name: 'in-cluster-client' },
      spec: {
        restartPolicy: 'Never',
        containers: [{ name: 'main', image: NODE_IMAGE, imagePullPolicy: 'Never', args: ['-e', script], securityContext: { runAsUser: 65532, readOnlyRootFilesystem: true } }],
      },
    },
  });
  await waitFor(async () => {
    const phase = (await core.readNamespacedPod({ namespace: NAMESPACE, name: 'in-cluster-client' })).status?.phase;
    return phase === 'Succeeded' || phase === 'Failed';
  }, { timeoutMs: 60_000, description: 'pod in-cluster-client to finish' });
  const output = await kubectlOk(cp.adminKubeconfig, ['logs', '-n', NAMESPACE, 'in-cluster-client']);
  assert.equal(output.trim(), '201 system:serviceaccount:default:default');
  // Gone before the later tests count the node's running tasks.
  await core.deleteNamespacedPod({ namespace: NAMESPACE, name: 'in-cluster-client' });
  await waitFor(async () => !(await core.listNamespacedPod({ namespace: NAMESPACE })).items.some((p) => p.metadata?.name === 'in-cluster-client'), {
    timeoutMs: 60_000,
    description: 'pod in-cluster-client to be deleted',
  });
});

test('`controlplane up --with-node` runs a second node beside the first; `down` removes it and leaves the first alone', async () => {
  const dir = join(scratch, 'cli-cp');
  let state: ControlPlaneState | undefined;
  try {
    assert.equal(await runControlplaneCommand(['up', '--with-node', '--dir', dir]), 0);
    state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as ControlPlaneState;
    const second = state.node as NodeState;
    assert.notEqual(second.bridge, node().state().bridge, 'each node has its own bridge');
    assert.notEqual(second.cgroupRoot, node().state().cgroupRoot, 'and its own cgroups');
    const nodes = await kubectlOk(join(dir, 'admin.kubeconfig'), ['get', 'nodes', '-o', 'jsonpath={.items[*].status.conditions[?(@.type=="Ready")].status}']);
    assert.equal(nodes, 'True');
  } finally {
    assert.equal(await runControlplaneCommand(['down', '--dir', dir]), 0);
  }
  const second = state.node as NodeState;
  for (const p of second.processes) assert.ok(!isPidAlive(p.pid), `${p.name} of the second node is gone`);
  await assert.rejects(execFileAsync('ip', ['link', 'show', second.bridge]), /does not exist/, `bridge ${second.bridge} is deleted`);
  const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n').filter((line) => line.split(' ')[1]?.startsWith(`${second.dir}/`));
  assert.deepEqual(mounts, [], 'nothing of the second node stays mounted');
  // The first node's containers kept running through the second node's cleanup.
  const { stdout } = await execFileAsync('ctr', ['--address', node().containerdSocket, '-n', 'k8s.io', 'tasks', 'list']);
  assert.equal(stdout.split('\n').filter((line) => / RUNNING\s*$/.test(line)).length, 6, `all six tasks of the first node run:\n${stdout}`);
  const first = await core.readNode({ name: node().name });
  assert.equal(first.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
});

test('stopping the control plane removes the node\'s processes, mounts, bridge and cgroups', async () => {
  const state = cp.state().node as NodeState;
  const { stdout: tasks } = await execFileAsync('ctr', ['--address', state.containerdSocket, '-n', 'k8s.io', 'tasks', 'list']);
  assert.equal(tasks.split('\n').filter((line) => / RUNNING\s*$/.test(line)).length, 6, `three pod sandboxes and their three containers run before the stop:\n${tasks}`);
  const pids = [...state.processes.map((p) => p.pid)];

  await cp.stop();

  for (const pid of pids) assert.ok(!isPidAlive(pid), `node process ${pid} is gone`);
  const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n').filter((line) => line.split(' ')[1]?.startsWith(`${state.dir}/`));
  assert.deepEqual(mounts, [], 'nothing stays mounted under the node directory');
  await assert.rejects(execFileAsync('ip', ['link', 'show', state.bridge]), /does not exist/, `bridge ${state.bridge} is deleted`);
  for (const hierarchy of cgroupHierarchies()) assert.ok(!existsSync(join(hierarchy, state.cgroupRoot)), `${hierarchy}${state.cgroupRoot} is removed`);
  assert.ok(!existsSync(state.dir), 'the node directory, inside the control plane\'s temp dir, is removed');
});

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { ensureControlPlaneBinaries, type ControlPlaneBinaries } from './binaries.ts';
import { compactEtcd, etcdArgs } from './etcd.ts';
import { waitUntilHealthy, type TlsClientOptions } from './health.ts';
import { writeKubeconfig } from './kubeconfig.ts';
import { createCertificateAuthority, createServiceAccountKeys, issueCertificate, type CertificateAuthority } from './pki.ts';
import { pickServiceClusterIpRange, startNode, type LocalNode, type NodeState } from './node.ts';
import { allocateFreePorts } from './ports.ts';
import { reaperFlushed, registerScratchDir, startProcess, unregisterScratchDir, type ManagedProcess } from './processes.ts';

/**
 * A real, local Kubernetes control plane for tests: etcd, kube-apiserver and
 * (optionally) kube-controller-manager, on loopback with random ports, wired
 * like controller-runtime's envtest (RBAC authorization, client-cert authn,
 * service-account signing keys, etcd on tmpfs without fsync), plus the
 * garbage-collector and namespace controllers envtest lacks, so ownerReference
 * cascades and namespace deletion really complete.
 */

export interface ControlPlaneOptions {
  /** Working directory (PKI, kubeconfigs, logs). Default: a fresh temp dir, removed by stop(). */
  dir?: string;
  /** kube-apiserver `--request-timeout`; fault tests shorten it (e.g. '10s'). */
  requestTimeout?: string;
  /** Run kube-controller-manager (garbage collector, namespace and service-account controllers). */
  controllerManager?: boolean;
  /** Controllers for kube-controller-manager's `--controllers`. */
  controllers?: string[];
  /** Appended kube-apiserver flags; one named like a default (`--authorization-mode=...`) replaces it. */
  extraApiServerFlags?: string[];
  /** Children survive this process (for the CLI); nothing cleans them up but stop() or `controlplane down`. */
  detached?: boolean;
  /**
   * Children run in their own session, so a terminal's Ctrl-C reaches only
   * this process, which decides when to stop them (the quick start shuts its
   * controller down first); they are still killed when this process exits.
   */
  ownSession?: boolean;
  /**
   * Also run kube-scheduler and one worker node (node.ts: kubelet, containerd,
   * bridge CNI) so pods really run, and the controllers Deployments need.
   * Needs root and the machine's containerd, runc and CNI plugins.
   */
  node?: boolean | { name?: string };
  /** Progress lines (binary builds, component readiness). */
  log?: (line: string) => void;
  /** How long each component may take to become healthy. */
  startTimeoutMs?: number;
}

export interface ControlPlaneState {
  dir: string;
  apiServerUrl: string;
  adminKubeconfig: string;
  etcdClientUrl: string;
  etcdDataDir: string;
  caFile: string;
  kubernetesVersion: string;
  etcdVersion: string;
  startedAt: string;
  processes: Array<{ name: ComponentName; pid: number; binary: string; logFile: string }>;
  /** With `node`: what `controlplane down` needs to stop and clean up the node. */
  node?: NodeState;
}

export type ComponentName = 'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler';

export interface ControlPlane {
  dir: string;
  apiServerUrl: string;
  /** Path of a kubeconfig for `CN=admin,O=system:masters` (bypasses RBAC and API Priority and Fairness). */
  adminKubeconfig: string;
  etcdClientUrl: string;
  /** The cluster CA: signs the serving cert and every client cert. */
  caFile: string;
  logsDir: string;
  kubernetesVersion: string;
  etcdVersion: string;
  /** The worker node, when started with `node`. */
  node: LocalNode | undefined;
  /** A client-certificate user signed by the cluster CA; returns the kubeconfig path. */
  userKubeconfig(user: string, groups?: string[]): Promise<string>;
  /**
   * SIGSTOP etcd. Requests that need it hang until the server's deadline
   * (`--request-timeout`, or a request's `timeout` parameter) and then get
   * 504 Timeout, or a reset connection when the handler's own deadline wins
   * the race; reads the watch cache can serve keep working.
   */
  pauseEtcd(): void;
  resumeEtcd(): void;
  /**
   * SIGSTOP kube-apiserver: its connections stay open but nothing answers,
   * not even an HTTP/2 PING, as with a peer that vanished without a FIN.
   */
  pauseApiServer(): void;
  resumeApiServer(): void;
  /**
   * Physically compact etcd history; returns the compaction revision, which
   * is greater than any resourceVersion seen before the call. Recorded as the
   * API server's own compactor records it, so
   * exact-resourceVersion lists below it get 410 within ~15 s. Watches are
   * served by the watch cache, whose event window compaction does not touch
   * (as in a real cluster): a watch from an old resourceVersion gets 410
   * Expired once that window has moved on, e.g. after restartApiServer().
   */
  compactEtcd(): Promise<number>;
  /**
   * Graceful stop (SIGTERM): new requests get 429 + Retry-After while
   * in-flight ones drain, open watches are closed within ~2 s, then
   * connections are refused. SIGKILL after 15 s.
   */
  stopApiServer(): Promise<void>;
  /** Start it again (same port, certs and flags); resolves once /readyz is ok. No-op if running. */
  startApiServer(): Promise<void>;
  restartApiServer(): Promise<void>;
  /** What `controlplane down` needs to stop it from another process. */
  state(): ControlPlaneState;
  /** Kill every component and remove etcd's tmpfs data (and the dir, if the harness created it). Idempotent. */
  stop(): Promise<void>;
}

/**
 * `serviceaccount-token-controller` fills `kubernetes.io/service-account-token`
 * Secrets (the agent's upstream credentials, `flotilla cluster add`); it signs
 * with the key pair the API server verifies with.
 * `clusterrole-aggregation-controller` fills the built-in `admin`, `edit` and
 * `view` roles from the ClusterRoles labelled to aggregate into them (without
 * it they have no rules, unlike in any real cluster).
 */
export const DEFAULT_CONTROLLERS = [
  'garbage-collector-controller',
  'namespace-controller',
  'serviceaccount-controller',
  'serviceaccount-token-controller',
  'clusterrole-aggregation-controller',
] as const;

/**
 * Added with a node: Deployments need the deployment and ReplicaSet
 * controllers; the node-lifecycle controller lifts the `not-ready` taint the
 * kubelet registers with, without which nothing is ever scheduled.
 */
export const NODE_CONTROLLERS = [
  'deployment-controller',
  'replicaset-controller',
  'node-lifecycle-controller',
  // Pods get service-account tokens (the admission plugin is on with a
  // node) and the `kube-root-ca.crt` ConfigMap their token volume includes.
  'serviceaccount-controller',
  'serviceaccount-token-controller',
  'root-ca-certificate-publisher-controller',
  // Services get EndpointSlices (and legacy Endpoints) for their ready pods:
  // the API server's service proxy (`…/services/NAME:PORT/proxy/`) routes
  // through them, the one way to reach a Service here without kube-proxy.
  'endpointslice-controller',
  'endpoints-controller',
] as const;
export const DEFAULT_NODE_NAME = 'flotilla-node';
const execFileAsync = promisify(execFile);

// envtest's default; the first address (10.0.0.1) is the `kubernetes` Service.
const SERVICE_CLUSTER_IP_RANGE = '10.0.0.0/24';
const DEFAULT_KUBERNETES_SERVICE_IP = '10.0.0.1';
const KEEP_DIR_ENV = 'FLOTILLA_KEEP_CONTROLPLANE';

export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  // Free ports are picked by binding port 0 and releasing it (as envtest
  // does), so another process can take one before our component binds it:
  // with test files and benchmarks starting control planes side by side that
  // happens. It is the one start-up failure a retry with new ports cures.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startControlPlaneOnce(options);
    } catch (error) {
      if (attempt >= PORT_CONFLICT_ATTEMPTS || !isPortConflict(error)) throw error;
      (options.log ?? (() => {}))(`a port was taken before a component could bind it; retrying with new ports (attempt ${attempt + 1} of ${PORT_CONFLICT_ATTEMPTS})`);
    }
  }
}

const PORT_CONFLICT_ATTEMPTS = 3;

/** Whether a failed start was a component finding its port taken (its log tail is in the message). */
export function isPortConflict(error: unknown): boolean {
  return error instanceof Error && /address already in use/.test(error.message);
}

async function startControlPlaneOnce(options: ControlPlaneOptions): Promise<ControlPlane> {
  const log = options.log ?? (() => {});
  const detached = options.detached ?? false;
  const startTimeoutMs = options.startTimeoutMs ?? 60_000;
  const startedAt = Date.now();
  const binaries = await ensureControlPlaneBinaries(options.log ? { log: options.log } : {});

  const ownsDir = options.dir === undefined;
  const dir = options.dir === undefined ? await mkdtemp(join(tmpdir(), 'flotilla-cp-')) : resolve(options.dir);
  const pkiDir = join(dir, 'pki');
  const logsDir = join(dir, 'logs');
  await Promise.all([pkiDir, logsDir, join(dir, 'users'), join(dir, 'kube-controller-manager')].map((d) => mkdir(d, { recursive: true })));
  const etcdDataDir = await mkdtemp(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'flotilla-etcd-'));
  // Until a detached control plane is fully up it is ours to clean up.
  registerScratchDir(etcdDataDir);
  if (ownsDir && !detached && !process.env[KEEP_DIR_ENV]) registerScratchDir(dir);
  let handedOver = false;

  const processes = new Map<ComponentName, ManagedProcess>();
  const withNode = options.node !== undefined && options.node !== false;
  const nodeName = typeof options.node === 'object' && options.node.name ? options.node.name : DEFAULT_NODE_NAME;
  let node: LocalNode | undefined;
  const cleanupAfterFailure = async () => {
    await node?.stop();
    await Promise.all([...processes.values()].map((p) => p.stop({ signal: 'SIGKILL' })));
    await removeScratch(etcdDataDir);
    // The logs explain the failure: keep them, even in a dir we created.
    unregisterScratchDir(dir);
  };

  try {
    const [etcdClientPort, etcdPeerPort, apiServerPort, kcmPort, schedulerPort] = (await allocateFreePorts(5)) as [number, number, number, number, number];
    // With a node the `kubernetes` Service address is real (on the node's
    // bridge), so it must be this control plane's own.
    const serviceNetwork = withNode
      ? await pickServiceClusterIpRange()
      : { range: SERVICE_CLUSTER_IP_RANGE, kubernetesServiceIp: DEFAULT_KUBERNETES_SERVICE_IP };
    const apiServerUrl = `https://127.0.0.1:${apiServerPort}`;
    const etcdClientUrl = `http://127.0.0.1:${etcdClientPort}`;

    const launch = async (name: ComponentName, binary: string, args: string[]) => {
      const managed = await startProcess({ name, binary, args, logFile: join(logsDir, `${name}.log`), detached: detached || (options.ownSession ?? false) });
      processes.set(name, managed);
      return managed;
    };

    // etcd needs no certificates: let it boot while openssl works.
    const etcdReady = (async () => {
      const etcd = await launch('etcd', binaries.etcd, etcdArgs({ dataDir: etcdDataDir, clientPort: etcdClientPort, peerPort: etcdPeerPort }));
      await waitUntilHealthy({ url: `${etcdClientUrl}/health`, process: etcd, timeoutMs: startTimeoutMs });
      log(`etcd ${binaries.etcdVersion} healthy at ${etcdClientUrl} (data in ${etcdDataDir})`);
    })();
    const pkiReady = (async () => {
      const ca = await createCertificateAuthority(pkiDir, 'flotilla-local-ca');
      const [serving, admin, serviceAccount, kubeletClient] = await Promise.all([
        issueCertificate(ca, {
          commonName: 'kube-apiserver',
          usage: 'server',
          // Everything a client could dial: loopback, and the in-cluster names
          // and Service IP that clients configured "in cluster" would use.
          dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'],
          ipAddresses: ['127.0.0.1', serviceNetwork.kubernetesServiceIp],
          filePrefix: join(pkiDir, 'apiserver'),
        }),
        issueCertificate(ca, { commonName: 'admin', organizations: ['system:masters'], usage: 'client', filePrefix: join(pkiDir, 'admin') }),
        createServiceAccountKeys(pkiDir),
        // For logs, exec and port-forward: the kubelet authenticates the API
        // server by this certificate and authorizes it by its group.
        withNode
          ? issueCertificate(ca, { commonName: 'kube-apiserver-kubelet-client', organizations: ['system:masters'], usage: 'client', filePrefix: join(pkiDir, 'kubelet-client') })
          : undefined,
      ]);
      return { ca, serving, admin, serviceAccount, kubeletClient };
    })();
    // Settle both before acting on a failure, so cleanup sees every process.
    const [etcdOutcome, pkiOutcome] = await Promise.allSettled([etcdReady, pkiReady]);
    if (etcdOutcome.status === 'rejected') throw etcdOutcome.reason;
    if (pkiOutcome.status === 'rejected') throw pkiOutcome.reason;
    const { ca, serving, admin, serviceAccount, kubeletClient } = pkiOutcome.value;

    const adminKubeconfig = await writeKubeconfig(join(dir, 'admin.kubeconfig'), {
      server: apiServerUrl,
      caPem: ca.certPem,
      certPem: admin.certPem,
      keyPem: admin.keyPem,
      user: 'admin',
    });
    const adminTls: TlsClientOptions = { ca: ca.certPem, cert: admin.certPem, key: admin.keyPem };

    const apiServerArgs = withOverrides([
      '--advertise-address=127.0.0.1',
      '--bind-address=127.0.0.1',
      `--secure-port=${apiServerPort}`,
      `--etcd-servers=${etcdClientUrl}`,
      `--tls-cert-file=${serving.certFile}`,
      `--tls-private-key-file=${serving.keyFile}`,
      `--client-ca-file=${ca.certFile}`,
      '--authorization-mode=RBAC',
      `--service-cluster-ip-range=${serviceNetwork.range}`,
      '--allow-privileged=true',
      // As envtest: without a running token controller the admission plugin
      // rejects pods in namespaces whose `default` ServiceAccount is missing;
      // the controller manager is optional here, so keep pods admissible.
      // With a node, pods really run and need their tokens: keep it on.
      ...(withNode ? [] : ['--disable-admission-plugins=ServiceAccount']),
      `--service-account-issuer=${apiServerUrl}`,
      `--service-account-key-file=${serviceAccount.publicKeyFile}`,
      `--service-account-signing-key-file=${serviceAccount.privateKeyFile}`,
      `--request-timeout=${options.requestTimeout ?? '60s'}`,
      // A graceful stop otherwise waits up to --request-timeout for open
      // watches (the controller manager holds dozens), making every restart
      // in a fault test take a minute. With this flag the server answers new
      // requests with 429 + Retry-After while in-flight ones drain, then
      // closes the rest within 2 s: the behaviour of managed control planes.
      '--shutdown-send-retry-after=true',
      // The lease reconciler would publish 127.0.0.1 as the `kubernetes`
      // Service endpoint, which validation rejects (loopback) on every sync.
      '--endpoint-reconciler-type=none',
      `--cert-dir=${pkiDir}`,
      ...(kubeletClient
        ? [
            `--kubelet-client-certificate=${kubeletClient.certFile}`,
            `--kubelet-client-key=${kubeletClient.keyFile}`,
            // The node's name resolves nowhere; its InternalIP is local.
            '--kubelet-preferred-address-types=InternalIP',
          ]
        : []),
    ], options.extraApiServerFlags ?? []);

    // A detached control plane outlives us once it is up (and so does an
    // API server restarted after that point).
    const handOverIfDetached = async (managed: ManagedProcess) => {
      if (!detached || !handedOver) return;
      managed.release();
      await reaperFlushed();
    };

    const startApiServerProcess = async () => {
      const apiServer = await launch('kube-apiserver', binaries.kubeApiServer, apiServerArgs);
      await waitUntilHealthy({ url: `${apiServerUrl}/readyz`, process: apiServer, tls: adminTls, timeoutMs: startTimeoutMs });
      await handOverIfDetached(apiServer);
      log(`kube-apiserver ${binaries.kubernetesVersion} ready at ${apiServerUrl}`);
    };
    await startApiServerProcess();

    const controllers = [...(options.controllers ?? DEFAULT_CONTROLLERS), ...(withNode ? NODE_CONTROLLERS : [])];
    if (options.controllerManager ?? true) {
      const kcm = await launch('kube-controller-manager', binaries.kubeControllerManager, [
        `--kubeconfig=${adminKubeconfig}`,
        // Without these its secure port could not authenticate or authorize
        // anyone; /healthz stays reachable anonymously either way.
        `--authentication-kubeconfig=${adminKubeconfig}`,
        `--authorization-kubeconfig=${adminKubeconfig}`,
        '--leader-elect=false',
        `--controllers=${[...new Set(controllers)].join(',')}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${kcmPort}`,
        `--cert-dir=${join(dir, 'kube-controller-manager')}`,
        '--use-service-account-credentials=false',
        `--root-ca-file=${ca.certFile}`,
        // The token controller signs service-account-token Secrets with it.
        `--service-account-private-key-file=${serviceAccount.privateKeyFile}`,
      ]);
      // Its serving cert is self-signed on the fly, hence no verification.
      await waitUntilHealthy({ url: `https://127.0.0.1:${kcmPort}/healthz`, process: kcm, tls: { insecure: true }, timeoutMs: startTimeoutMs });
      log(`kube-controller-manager ready (controllers: ${[...new Set(controllers)].join(', ')})`);
    }
    if (withNode) {
      const scheduler = await launch('kube-scheduler', binaries.kubeScheduler, [
        `--kubeconfig=${adminKubeconfig}`,
        `--authentication-kubeconfig=${adminKubeconfig}`,
        `--authorization-kubeconfig=${adminKubeconfig}`,
        '--leader-elect=false',
        '--bind-address=127.0.0.1',
        `--secure-port=${schedulerPort}`,
      ]);
      await waitUntilHealthy({ url: `https://127.0.0.1:${schedulerPort}/healthz`, process: scheduler, tls: { insecure: true }, timeoutMs: startTimeoutMs });
      log('kube-scheduler ready');

      // The kubelet runs as its node's identity with the built-in
      // `system:node` role (the API server has no Node authorizer here).
      const nodeCert = await issueCertificate(ca, { commonName: `system:node:${nodeName}`, organizations: ['system:nodes'], usage: 'client', filePrefix: join(pkiDir, 'node') });
      const nodeKubeconfig = await writeKubeconfig(join(dir, 'node.kubeconfig'), {
        server: apiServerUrl, caPem: ca.certPem, certPem: nodeCert.certPem, keyPem: nodeCert.keyPem, user: `system:node:${nodeName}`,
      });
      await execFileAsync(binaries.kubectl, [`--kubeconfig=${adminKubeconfig}`, 'create', 'clusterrolebinding', `flotilla:node:${nodeName}`,
        '--clusterrole=system:node', `--user=system:node:${nodeName}`]);
      node = await startNode({
        dir: join(dir, 'node'),
        name: nodeName,
        apiServerUrl,
        caFile: ca.certFile,
        kubeconfig: nodeKubeconfig,
        adminTls,
        kubeletBinary: binaries.kubelet,
        pauseBinary: binaries.pause,
        kubernetesService: { clusterIp: serviceNetwork.kubernetesServiceIp, apiServerPort },
        detached,
        log,
        startTimeoutMs,
      });
    }
    log(`control plane up in ${((Date.now() - startedAt) / 1000).toFixed(1)} s; logs in ${logsDir}`);
    if (detached) {
      handedOver = true;
      for (const managed of processes.values()) managed.release();
      unregisterScratchDir(etcdDataDir);
      await reaperFlushed();
    }

    return buildControlPlane({
      dir, ownsDir, logsDir, etcdDataDir, apiServerUrl, etcdClientUrl, adminKubeconfig, ca, binaries, processes, node,
      startApiServerProcess, startedAt: new Date(startedAt).toISOString(),
    });
  } catch (error) {
    await cleanupAfterFailure();
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`Control plane failed to start (logs kept in ${logsDir}): ${message}`, { cause: error });
  }
}

interface Assembled {
  dir: string;
  ownsDir: boolean;
  logsDir: string;
  etcdDataDir: string;
  apiServerUrl: string;
  etcdClientUrl: string;
  adminKubeconfig: string;
  ca: CertificateAuthority;
  binaries: ControlPlaneBinaries;
  processes: Map<ComponentName, ManagedProcess>;
  node: LocalNode | undefined;
  startApiServerProcess: () => Promise<void>;
  startedAt: string;
}

function buildControlPlane(parts: Assembled): ControlPlane {
  const { processes } = parts;
  const component = (name: ComponentName): ManagedProcess => {
    const managed = processes.get(name);
    if (!managed) throw new Error(`The control plane has no ${name}.`);
    return managed;
  };
  let stopped: Promise<void> | undefined;
  let apiServerTransition: Promise<void> = Promise.resolve();
  // Serialise stop/start of the API server so overlapping fault-injection
  // calls cannot leave two servers fighting over one port.
  const serially = (step: () => Promise<void>): Promise<void> => {
    const next = apiServerTransition.then(step);
    apiServerTransition = next.catch(() => {});
    return next;
  };
  const assertRunning = () => {
    if (stopped) throw new Error('The control plane has been stopped.');
  };

  const stopApiServer = () =>
    serially(async () => {
      assertRunning();
      await component('kube-apiserver').stop({ signal: 'SIGTERM', graceMs: 15_000 });
    });
  const startApiServer = () =>
    serially(async () => {
      assertRunning();
      if (component('kube-apiserver').isRunning()) return;
      await parts.startApiServerProcess();
    });

  return {
    dir: parts.dir,
    apiServerUrl: parts.apiServerUrl,
    adminKubeconfig: parts.adminKubeconfig,
    etcdClientUrl: parts.etcdClientUrl,
    caFile: parts.ca.certFile,
    logsDir: parts.logsDir,
    kubernetesVersion: parts.binaries.kubernetesVersion,
    etcdVersion: parts.binaries.etcdVersion,
    node: parts.node,

    async userKubeconfig(user, groups = []) {
      assertRunning();
      const id = createHash('sha256').update(JSON.stringify([user, groups])).digest('hex').slice(0, 8);
      const base = join(parts.dir, 'users', `${user.replace(/[^A-Za-z0-9._-]/g, '_')}-${id}`);
      const cert = await issueCertificate(parts.ca, { commonName: user, organizations: groups, usage: 'client', filePrefix: base });
      return writeKubeconfig(`${base}.kubeconfig`, {
        server: parts.apiServerUrl,
        caPem: parts.ca.certPem,
        certPem: cert.certPem,
        keyPem: cert.keyPem,
        user,
      });
    },

    pauseEtcd() {
      assertRunning();
      component('etcd').signal('SIGSTOP');
    },
    resumeEtcd() {
      assertRunning();
      component('etcd').signal('SIGCONT');
    },
    pauseApiServer() {
      assertRunning();
      component('kube-apiserver').signal('SIGSTOP');
    },
    resumeApiServer() {
      assertRunning();
      component('kube-apiserver').signal('SIGCONT');
    },
    async compactEtcd() {
      assertRunning();
      return compactEtcd(parts.etcdClientUrl);
    },

    stopApiServer,
    startApiServer,
    async restartApiServer() {
      await stopApiServer();
      await startApiServer();
    },

    state() {
      return {
        dir: parts.dir,
        apiServerUrl: parts.apiServerUrl,
        adminKubeconfig: parts.adminKubeconfig,
        etcdClientUrl: parts.etcdClientUrl,
        etcdDataDir: parts.etcdDataDir,
        caFile: parts.ca.certFile,
        kubernetesVersion: parts.binaries.kubernetesVersion,
        etcdVersion: parts.binaries.etcdVersion,
        startedAt: parts.startedAt,
        processes: [...processes.entries()]
          .filter(([, p]) => p.isRunning())
          .map(([name, p]) => ({ name, pid: p.pid, binary: binaryOf(parts.binaries, name), logFile: p.logFile })),
        ...(parts.node ? { node: parts.node.state() } : {}),
      };
    },

    stop() {
      stopped ??= (async () => {
        await apiServerTransition;
        await parts.node?.stop();
        // SIGKILL: all state is throwaway, and a graceful shutdown of a
        // paused etcd or a draining API server only slows test teardown.
        const order: ComponentName[] = ['kube-scheduler', 'kube-controller-manager', 'kube-apiserver', 'etcd'];
        for (const name of order) await processes.get(name)?.stop({ signal: 'SIGKILL' });
        await removeScratch(parts.etcdDataDir);
        if (parts.ownsDir && !process.env[KEEP_DIR_ENV]) await removeScratch(parts.dir);
      })();
      return stopped;
    },
  };
}

/**
 * Extra flags replace defaults of the same name rather than repeating them:
 * for list-valued flags (`--authorization-mode`, `--disable-admission-plugins`)
 * pflag would append a repeat to the default instead of replacing it.
 */
export function withOverrides(defaults: string[], extra: string[]): string[] {
  const flagName = (flag: string) => flag.split('=')[0];
  const overridden = new Set(extra.map(flagName));
  return [...defaults.filter((flag) => !overridden.has(flagName(flag))), ...extra];
}

function binaryOf(binaries: ControlPlaneBinaries, name: ComponentName): string {
  switch (name) {
    case 'etcd':
      return binaries.etcd;
    case 'kube-apiserver':
      return binaries.kubeApiServer;
    case 'kube-controller-manager':
      return binaries.kubeControllerManager;
    case 'kube-scheduler':
      return binaries.kubeScheduler;
  }
}

async function removeScratch(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  unregisterScratchDir(dir);
}


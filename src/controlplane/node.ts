import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { isExecutable } from './binaries.ts';
import { httpGet, waitUntilHealthy, type TlsClientOptions } from './health.ts';
import { writeOciImageArchive } from './oci-image.ts';
import { allocateFreePorts } from './ports.ts';
import { logTail, registerCleanupScript, startProcess, unregisterCleanupScript, type ManagedProcess } from './processes.ts';

/**
 * One real worker node for the local control plane: containerd and runc from
 * the machine's packages, the kubelet built from the pinned module, and the
 * reference CNI plugins (bridge, host-local, loopback). Pods get addresses on
 * a bridge of their own; the node's address is that bridge's gateway, a
 * local address that is neither loopback (the kubelet refuses it) nor
 * reachable from outside the machine, so the API server can reach the
 * kubelet for logs and exec without the kubelet listening on the network.
 *
 * Images come from archives (`importImage`), never from a registry: the pod
 * sandbox ("pause") image is built from tools/pause.
 *
 * Everything the node creates is confined to be found again: processes in a
 * cgroup of their own (`/flotilla-node-<id>` in every hierarchy, which is
 * also the kubelet's cgroupRoot), mounts under the node's directory
 * (containerd's netns pins included), one bridge. A generated shell script
 * removes all of it; stop() runs it and so does the reaper if we die.
 */

const execFileAsync = promisify(execFile);

export const SANDBOX_IMAGE = 'flotilla.local/pause:1';
const SERVICE_FORWARDER = fileURLToPath(new URL('./service-forwarder.ts', import.meta.url));
const CNI_PLUGIN_DIRS = ['/usr/lib/cni', '/opt/cni/bin'];
const CNI_PLUGINS = ['bridge', 'host-local', 'loopback'];
const CGROUP_FS = '/sys/fs/cgroup';
// The kubelet finds iptables on its PATH and then installs chains and a
// DROP rule in the host's tables (pkg/kubelet/kubelet_network_linux.go);
// the bridge without masquerading needs none, so its PATH has only these.
const KUBELET_TOOLS = ['mount', 'umount', 'nsenter', 'losetup'];

export interface NodeOptions {
  /** The node's directory (state, logs, config); must not contain whitespace. */
  dir: string;
  name: string;
  apiServerUrl: string;
  caFile: string;
  /** Client-certificate kubeconfig the kubelet uses (`system:node:<name>`, group `system:nodes`). */
  kubeconfig: string;
  /** Admin TLS material, to watch the Node become Ready. */
  adminTls: TlsClientOptions;
  kubeletBinary: string;
  pauseBinary: string;
  /**
   * The `kubernetes` Service's cluster IP and the API server's loopback port:
   * the node puts that IP on its bridge and relays :443 there to the API
   * server, so pods' in-cluster config works without kube-proxy.
   */
  kubernetesService?: { clusterIp: string; apiServerPort: number };
  /** Hand processes and cleanup over to `controlplane down` once Ready. */
  detached?: boolean;
  log?: (line: string) => void;
  startTimeoutMs?: number;
}

export interface NodeState {
  name: string;
  dir: string;
  nodeIp: string;
  podSubnet: string;
  bridge: string;
  cgroupRoot: string;
  containerdSocket: string;
  /** Idempotent shell script that removes everything the node created. */
  cleanupScript: string;
  processes: Array<{ name: NodeProcessName; pid: number; binary: string; logFile: string }>;
}

export type NodeProcessName = 'containerd' | 'kubelet' | 'service-forwarder';

export interface LocalNode {
  readonly name: string;
  /** The node's InternalIP: the pod bridge's gateway address. */
  readonly nodeIp: string;
  readonly podSubnet: string;
  readonly containerdSocket: string;
  /** Import an image archive (OCI layout or docker-archive tar) for the kubelet to use. */
  importImage(archiveFile: string): Promise<void>;
  state(): NodeState;
  /** Kill the kubelet, containerd and every container; remove mounts, bridge and cgroups. Idempotent. */
  stop(): Promise<void>;
}

interface HostTools {
  containerd: string;
  ctr: string;
  runc: string;
  shim: string;
  cniBinDir: string;
  ip: string;
}

/**
 * What the machine lacks for a node, as one sentence, or undefined if
 * nothing. Checked before anything is started or created.
 */
export async function nodePrerequisiteProblem(): Promise<string | undefined> {
  const missing: string[] = [];
  const packages = new Set<string>();
  const need = async (command: string, pkg: string) => {
    const found = await which(command);
    if (!found) {
      missing.push(command);
      packages.add(pkg);
    }
    return found;
  };
  await need('containerd', 'containerd');
  await need('ctr', 'containerd');
  await need('containerd-shim-runc-v2', 'containerd');
  await need('runc', 'runc');
  await need('ip', 'iproute2');
  if (!(await cniBinDir())) {
    missing.push(`the CNI plugins ${CNI_PLUGINS.join(', ')} (in ${CNI_PLUGIN_DIRS.join(' or ')})`);
    packages.add('containernetworking-plugins');
  }
  if (missing.length > 0) {
    return `A local node needs ${missing.join(', ')}; on Debian/Ubuntu: apt-get install ${[...packages].join(' ')}.`;
  }
  if (process.getuid?.() !== 0) return 'A local node needs root (containerd, runc and the kubelet manage mounts, cgroups and network namespaces).';
  if (cgroupHierarchies().length === 0) return `A local node needs cgroups mounted under ${CGROUP_FS}.`;
  return undefined;
}

export async function startNode(options: NodeOptions): Promise<LocalNode> {
  const log = options.log ?? (() => {});
  const startTimeoutMs = options.startTimeoutMs ?? 60_000;
  if (/\s/.test(options.dir)) throw new Error(`The node directory must not contain whitespace: ${options.dir}`);
  const problem = await nodePrerequisiteProblem();
  if (problem) throw new Error(problem);
  const tools = await hostTools();
  const startedAt = Date.now();

  const id = randomBytes(4).toString('hex');
  const dir = options.dir;
  const paths = {
    logs: join(dir, 'logs'),
    containerdRoot: join(dir, 'containerd', 'root'),
    containerdState: join(dir, 'containerd', 'state'),
    containerdConfig: join(dir, 'containerd', 'config.toml'),
    containerdSocket: join(dir, 'containerd', 'containerd.sock'),
    runcRoot: join(dir, 'runc'),
    cniConf: join(dir, 'cni', 'net.d'),
    cniIpam: join(dir, 'cni', 'ipam'),
    kubeletRoot: join(dir, 'kubelet'),
    kubeletPki: join(dir, 'kubelet-pki'),
    kubeletConfig: join(dir, 'kubelet-config.yaml'),
    kubeletTools: join(dir, 'kubelet-tools'),
    volumePlugins: join(dir, 'volume-plugins'),
    podLogs: join(dir, 'pod-logs'),
    images: join(dir, 'images'),
    cleanupScript: join(dir, 'cleanup.sh'),
  };
  // A directory used before (`controlplane up` twice on one --dir): finish
  // that node's cleanup, then start from empty state, keeping its logs.
  if (existsSync(paths.cleanupScript)) await cleanUpNode({ cleanupScript: paths.cleanupScript });
  await Promise.all(
    ['containerd', 'runc', 'cni', 'kubelet', 'kubelet-pki', 'kubelet-tools', 'volume-plugins', 'pod-logs', 'images'].map((d) => rm(join(dir, d), { recursive: true, force: true })),
  );
  await Promise.all(
    [paths.logs, paths.containerdRoot, paths.containerdState, paths.runcRoot, paths.cniConf, paths.cniIpam, paths.kubeletRoot,
      paths.kubeletPki, paths.kubeletTools, paths.volumePlugins, paths.podLogs, paths.images].map((d) => mkdir(d, { recursive: true })),
  );

  const cgroupRoot = `/flotilla-node-${id}`;
  const bridge = `flnode${id.slice(0, 8)}`;
  const hierarchies = cgroupHierarchies();
  // Created by the kubelet if missing, and never configurable; removed
  // again only if they were not there before us.
  const sharedDirs = ['/var/log/containers', '/var/lib/kubelet/device-plugins', '/var/lib/kubelet', '/run/containerd/s', '/run/containerd'].filter((d) => !existsSync(d));
  await writeFile(
    paths.cleanupScript,
    cleanupScript({ dir, cgroupRoot, hierarchies, bridge, ip: tools.ip, sharedDirs, podLogsDir: paths.podLogs }),
    { mode: 0o755 },
  );
  registerCleanupScript(paths.cleanupScript);

  const processes: Array<{ name: NodeProcessName; managed: ManagedProcess; binary: string }> = [];
  let stopped: Promise<void> | undefined;
  const runCleanup = async () => {
    for (const { managed } of processes) await managed.stop({ signal: 'SIGKILL' });
    await execFileAsync('/bin/sh', [paths.cleanupScript], { timeout: 120_000 });
    unregisterCleanupScript(paths.cleanupScript);
  };

  try {
    await createCgroups(cgroupRoot, hierarchies);
    const { nodeIp, podSubnet } = await createBridge(tools.ip, bridge);
    log(`node ${options.name}: bridge ${bridge} ${nodeIp} for pods in ${podSubnet}, cgroups under ${cgroupRoot}`);

    await writeFile(join(paths.cniConf, '10-flotilla.conflist'), JSON.stringify(cniConfig({ bridge, podSubnet, ipamDir: paths.cniIpam }), null, 2));
    await writeFile(paths.containerdConfig, containerdConfig({ ...paths, dir, cniBinDir: tools.cniBinDir }));
    // Processes enter the node's cgroup before exec, so nothing they start
    // (containerd's shims above all) can escape the cleanup's kill loop.
    const runtimeCgroupProcs = hierarchies.map((h) => join(h, cgroupRoot, 'runtime', 'cgroup.procs'));
    const launch = async (name: NodeProcessName, binary: string, args: string[], env: NodeJS.ProcessEnv) => {
      const managed = await startProcess({
        name,
        binary: '/bin/sh',
        args: ['-c', 'for f in $FLOTILLA_CGROUP_PROCS; do echo $$ > "$f" || exit 1; done; unset FLOTILLA_CGROUP_PROCS; exec "$@"', name, binary, ...args],
        logFile: join(paths.logs, `${name}.log`),
        detached: true,
        env: { ...env, FLOTILLA_CGROUP_PROCS: runtimeCgroupProcs.join(' ') },
      });
      processes.push({ name, managed, binary });
      return managed;
    };

    if (options.kubernetesService) {
      const { clusterIp, apiServerPort } = options.kubernetesService;
      await execFileAsync(tools.ip, ['addr', 'add', `${clusterIp}/32`, 'dev', bridge]);
      const forwarder = await launch('service-forwarder', process.execPath, [SERVICE_FORWARDER, clusterIp, '443', '127.0.0.1', String(apiServerPort)], process.env);
      await waitForListener(clusterIp, 443, forwarder, startTimeoutMs);
      log(`node ${options.name}: the kubernetes Service ${clusterIp}:443 relays to the API server`);
    }
    const containerd = await launch('containerd', tools.containerd, ['--config', paths.containerdConfig], process.env);
    await waitForSocket(paths.containerdSocket, containerd, startTimeoutMs);
    const sandboxArchive = join(paths.images, 'pause.tar');
    const pauseRoot = join(paths.images, 'pause-rootfs');
    await mkdir(pauseRoot, { recursive: true });
    await copyFile(options.pauseBinary, join(pauseRoot, 'pause'));
    await writeOciImageArchive({ name: SANDBOX_IMAGE, rootfsDir: pauseRoot, entrypoint: ['/pause'] }, sandboxArchive);
    await ctrImport(tools.ctr, paths.containerdSocket, sandboxArchive);
    log(`node ${options.name}: containerd ${await containerdVersion(tools.containerd)} up, sandbox image ${SANDBOX_IMAGE} imported`);

    for (const tool of KUBELET_TOOLS) {
      const found = await which(tool);
      if (found) await symlink(found, join(paths.kubeletTools, tool));
    }
    const [kubeletPort, healthzPort] = (await allocateFreePorts(2)) as [number, number];
    await writeFile(paths.kubeletConfig, kubeletConfig({ ...paths, cgroupRoot, nodeIp, kubeletPort, healthzPort, caFile: options.caFile }));
    const kubelet = await launch('kubelet', options.kubeletBinary, [
      `--config=${paths.kubeletConfig}`,
      `--kubeconfig=${options.kubeconfig}`,
      `--root-dir=${paths.kubeletRoot}`,
      `--cert-dir=${paths.kubeletPki}`,
      `--hostname-override=${options.name}`,
      `--node-ip=${nodeIp}`,
      '--v=1',
    ], { ...process.env, PATH: paths.kubeletTools });
    await waitUntilHealthy({ url: `http://127.0.0.1:${healthzPort}/healthz`, process: kubelet, timeoutMs: startTimeoutMs });
    await waitForNodeReady({ ...options, kubelet, timeoutMs: startTimeoutMs });
    log(`node ${options.name} Ready in ${((Date.now() - startedAt) / 1000).toFixed(1)} s (kubelet log: ${kubelet.logFile})`);

    if (options.detached) {
      for (const { managed } of processes) managed.release();
      unregisterCleanupScript(paths.cleanupScript);
    }

    const state = (): NodeState => ({
      name: options.name,
      dir,
      nodeIp,
      podSubnet,
      bridge,
      cgroupRoot,
      containerdSocket: paths.containerdSocket,
      cleanupScript: paths.cleanupScript,
      processes: processes
        .filter(({ managed }) => managed.isRunning())
        .map(({ name, managed, binary }) => ({ name, pid: managed.pid, binary, logFile: managed.logFile })),
    });
    return {
      name: options.name,
      nodeIp,
      podSubnet,
      containerdSocket: paths.containerdSocket,
      async importImage(archiveFile) {
        if (stopped) throw new Error(`Node ${options.name} has been stopped.`);
        await ctrImport(tools.ctr, paths.containerdSocket, archiveFile);
      },
      state,
      stop() {
        stopped ??= runCleanup();
        return stopped;
      },
    };
  } catch (error) {
    const logs = processes.map(({ managed }) => managed.logFile).join(', ');
    await runCleanup().catch(() => {});
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`Node ${options.name} failed to start${logs ? ` (logs: ${logs})` : ''}: ${message}`, { cause: error });
  }
}

/** Runs a node's cleanup script (for `controlplane down`, when the node was handed over). */
export async function cleanUpNode(state: Pick<NodeState, 'cleanupScript'>): Promise<void> {
  // Gone with its directory: then so is everything it would have removed,
  // except what only a script run could have told us about; nothing to do.
  if (!existsSync(state.cleanupScript)) return;
  await execFileAsync('/bin/sh', [state.cleanupScript], { timeout: 120_000 });
}

export function cgroupHierarchies(mountinfo: string = readMountinfo()): string[] {
  const hierarchies: string[] = [];
  for (const line of mountinfo.split('\n')) {
    // mountinfo: ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const mountPoint = left.split(' ')[4];
    const fsType = right.split(' ')[0];
    if (!mountPoint?.startsWith(`${CGROUP_FS}`)) continue;
    if (fsType === 'cgroup' || fsType === 'cgroup2') hierarchies.push(mountPoint);
  }
  return hierarchies;
}

function readMountinfo(): string {
  try {
    return readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return '';
  }
}

async function createCgroups(cgroupRoot: string, hierarchies: string[]): Promise<void> {
  for (const hierarchy of hierarchies) {
    const root = join(hierarchy, cgroupRoot);
    await mkdir(join(root, 'runtime'), { recursive: true });
    // cgroup v1 cpuset: a new group starts with no CPUs or memory nodes, and
    // nothing can join it until they are set; copy the parent's.
    if (existsSync(join(root, 'cpuset.cpus')) && !existsSync(join(root, 'cgroup.controllers'))) {
      for (const file of ['cpuset.cpus', 'cpuset.mems']) {
        const parentValue = (await readFile(join(hierarchy, file), 'utf8')).trim();
        await writeFile(join(root, file), parentValue);
        await writeFile(join(root, 'runtime', file), parentValue);
      }
    }
    // cgroup v2: controllers reach a group only when its parent delegates them.
    if (existsSync(join(hierarchy, 'cgroup.subtree_control'))) {
      const available = (await readFile(join(hierarchy, 'cgroup.controllers'), 'utf8')).trim().split(/\s+/).filter(Boolean);
      const enable = available.map((c) => `+${c}`).join(' ');
      if (enable) await writeFile(join(root, 'cgroup.subtree_control'), enable).catch(() => {});
    }
  }
}

async function createBridge(ip: string, bridge: string): Promise<{ nodeIp: string; podSubnet: string }> {
  for (let attempt = 0; attempt < 20; attempt++) {
    // A /24 out of 10.244.0.0/16 (the pod range most tools default to) that
    // no route on this machine covers yet.
    const third = randomBytes(1)[0] ?? 0;
    const podSubnet = `10.244.${third}.0/24`;
    const nodeIp = `10.244.${third}.1`;
    if (await subnetInUse(ip, `10.244.${third}.`)) continue;
    await execFileAsync(ip, ['link', 'add', bridge, 'type', 'bridge']);
    await execFileAsync(ip, ['addr', 'add', `${nodeIp}/24`, 'dev', bridge]);
    await execFileAsync(ip, ['link', 'set', bridge, 'up']);
    // Two nodes starting side by side may pick the same subnet; the one
    // that sees another bridge with it backs off and picks again.
    const owners = await addressOwners(ip, `10.244.${third}.`);
    if (owners.length === 1) return { nodeIp, podSubnet };
    await execFileAsync(ip, ['link', 'delete', bridge]);
  }
  throw new Error('Found no free /24 in 10.244.0.0/16 for the node\'s pod bridge.');
}

async function subnetInUse(ip: string, prefix: string): Promise<boolean> {
  const { stdout } = await execFileAsync(ip, ['-4', 'route', 'show', 'table', 'all']);
  return stdout.split('\n').some((line) => line.split(' ').some((word) => word.startsWith(prefix)));
}

async function addressOwners(ip: string, prefix: string): Promise<string[]> {
  const { stdout } = await execFileAsync(ip, ['-4', '-o', 'addr', 'show']);
  return stdout
    .split('\n')
    .filter((line) => line.includes(` inet ${prefix}`))
    .map((line) => line.split(/\s+/)[1] ?? '');
}

function cniConfig(o: { bridge: string; podSubnet: string; ipamDir: string }) {
  return {
    cniVersion: '1.0.0',
    name: 'flotilla-pods',
    plugins: [
      {
        type: 'bridge',
        bridge: o.bridge,
        isGateway: true,
        // No NAT: pods talk to this machine, not the world, and masquerading
        // would need iptables rules in the host's tables.
        ipMasq: false,
        hairpinMode: true,
        ipam: { type: 'host-local', dataDir: o.ipamDir, ranges: [[{ subnet: o.podSubnet }]], routes: [{ dst: '0.0.0.0/0' }] },
      },
      { type: 'loopback' },
    ],
  };
}

function containerdConfig(o: {
  containerdRoot: string;
  containerdState: string;
  containerdSocket: string;
  runcRoot: string;
  cniConf: string;
  cniBinDir: string;
  dir: string;
}): string {
  const q = (value: string) => JSON.stringify(value);
  return `# Generated by Flotilla's local node (src/controlplane/node.ts).
version = 2
root = ${q(o.containerdRoot)}
state = ${q(o.containerdState)}
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs"]

[grpc]
  address = ${q(o.containerdSocket)}

[ttrpc]
  address = ${q(`${o.containerdSocket}.ttrpc`)}

[plugins."io.containerd.internal.v1.opt"]
  path = ${q(join(o.dir, 'containerd', 'opt'))}

[plugins."io.containerd.grpc.v1.cri"]
  # Never pulled: imported from an archive built from tools/pause.
  sandbox_image = ${q(SANDBOX_IMAGE)}
  # Without CAP_SYS_RESOURCE (containers, VMs) nothing may lower an
  # oom_score_adj below containerd's own; clamp instead of failing pods.
  restrict_oom_score_adj = true
  # Pod network namespaces pinned under the node's dir, not /run/netns.
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = ${q(o.runcRoot)}
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = ${q(o.cniBinDir)}
    conf_dir = ${q(o.cniConf)}
`;
}

function kubeletConfig(o: {
  cgroupRoot: string;
  containerdSocket: string;
  nodeIp: string;
  kubeletPort: number;
  healthzPort: number;
  caFile: string;
  podLogs: string;
  volumePlugins: string;
}): string {
  return stringify({
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    // Defaults to true in 1.36, which refuses to start on cgroup v1 hosts.
    failCgroupV1: false,
    // containerd 1.x cannot report its cgroup driver (no RuntimeConfig RPC);
    // the kubelet falls back to this setting.
    cgroupDriver: 'cgroupfs',
    cgroupRoot: o.cgroupRoot,
    containerRuntimeEndpoint: `unix://${o.containerdSocket}`,
    address: o.nodeIp,
    port: o.kubeletPort,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    healthzPort: o.healthzPort,
    podLogsDir: o.podLogs,
    volumePluginDir: o.volumePlugins,
    authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: o.caFile } },
    authorization: { mode: 'Webhook' },
    // A developer machine may have swap; pods just do not use it.
    failSwapOn: false,
    // Eviction and image garbage collection look at the machine's disks,
    // which the node shares with everything else: only act when nearly full,
    // so imported images (which cannot be pulled again) stay.
    evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '1%', 'imagefs.available': '1%', 'nodefs.inodesFree': '1%', 'imagefs.inodesFree': '1%' },
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    // How often the kubelet re-syncs every pod, which is when a changed
    // ConfigMap or Secret reaches its volume (changes are seen at once
    // through a watch; the write waits for the sync). Default 1m: a
    // hot-reloaded config would take up to a minute. A node with a handful
    // of pods affords 10 s.
    syncFrequency: '10s',
    // No systemd-logind to take an inhibitor lock from.
    shutdownGracePeriod: '0s',
  });
}

function cleanupScript(o: { dir: string; cgroupRoot: string; hierarchies: string[]; bridge: string; ip: string; sharedDirs: string[]; podLogsDir: string }): string {
  const q = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;
  const killHierarchy = o.hierarchies.find((h) => h.endsWith('/pids')) ?? o.hierarchies[0] ?? '';
  return `#!/bin/sh
# Generated by Flotilla's local node (src/controlplane/node.ts): removes what
# the node created. Safe to run more than once, and while parts are missing.
node_cgroup=${q(join(killHierarchy, o.cgroupRoot))}
# 1. Every process of the node (kubelet, containerd, shims, containers) is in
#    its cgroup; kill until none is left (shims may still be forking).
tries=0
while [ -d "$node_cgroup" ] && [ $tries -lt 100 ]; do
  pids=$(find "$node_cgroup" -name cgroup.procs -exec cat {} + 2>/dev/null)
  [ -z "$pids" ] && break
  kill -KILL $pids 2>/dev/null
  sleep 0.1
  tries=$((tries + 1))
done
# 2. Mounts under the node's dir: the kubelet's root-dir bind mount and pod
#    volumes, container root filesystems, sandbox /dev/shm, netns pins.
tries=0
while [ $tries -lt 20 ]; do
  mounts=$(awk -v prefix=${q(`${o.dir}/`)} 'index($2, prefix) == 1 { print $2 }' /proc/self/mounts | sort -r)
  [ -z "$mounts" ] && break
  for m in $mounts; do umount -l "$m" 2>/dev/null; done
  tries=$((tries + 1))
done
# 3. The pod bridge (the pods' veths went with their network namespaces).
${q(o.ip)} link delete ${q(o.bridge)} 2>/dev/null
# 4. The node's cgroups, deepest first.
for hierarchy in ${o.hierarchies.map(q).join(' ')}; do
  [ -d "$hierarchy"${q(o.cgroupRoot)} ] && find "$hierarchy"${q(o.cgroupRoot)} -depth -type d -exec rmdir {} + 2>/dev/null
done
# 5. What the kubelet and containerd create outside the node's dir: container
#    log links into our pod logs, and directories that did not exist before.
find /var/log/containers -maxdepth 1 -lname ${q(`${o.podLogsDir}/*`)} -delete 2>/dev/null
# Killed shims leave their sockets (named by a hash) in /run/containerd/s;
# remove those no process has bound any more.
if [ -d /run/containerd/s ]; then
  bound=$(awk 'NR > 1 { print $8 }' /proc/net/unix)
  for socket in /run/containerd/s/*; do
    [ -S "$socket" ] || continue
    case " $(echo $bound) " in *" $socket "*) ;; *) rm -f "$socket" ;; esac
  done
fi
for shared in ${o.sharedDirs.map(q).join(' ')}; do
  rm -f "$shared"/kubelet.sock 2>/dev/null
  rmdir "$shared" 2>/dev/null
done
exit 0
`;
}

async function waitForSocket(socket: string, process: ManagedProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(socket)) {
    if (!process.isRunning()) {
      throw new Error(`${process.name} exited before creating ${socket}; last lines of ${process.logFile}:\n${await logTail(process.logFile)}`);
    }
    if (Date.now() > deadline) throw new Error(`${process.name} did not create ${socket} within ${timeoutMs} ms; see ${process.logFile}.`);
    await delay(50);
  }
}

async function waitForListener(host: string, port: number, process: ManagedProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const connected = await new Promise<boolean>((resolve) => {
      const socket = connect(port, host, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (connected) return;
    if (!process.isRunning()) {
      throw new Error(`${process.name} exited before listening on ${host}:${port}; last lines of ${process.logFile}:\n${await logTail(process.logFile)}`);
    }
    if (Date.now() > deadline) throw new Error(`${process.name} did not listen on ${host}:${port} within ${timeoutMs} ms; see ${process.logFile}.`);
    await delay(50);
  }
}

/**
 * A Service CIDR of its own for a control plane with a node: the node puts
 * the first address (the `kubernetes` Service) on its bridge, so two
 * control planes with nodes on one machine must not share it. A /24 of
 * 10.96.0.0/16 (the range kubeadm defaults to) that no address or route here uses.
 */
export async function pickServiceClusterIpRange(): Promise<{ range: string; kubernetesServiceIp: string }> {
  const ip = (await which('ip')) ?? 'ip';
  for (let attempt = 0; attempt < 20; attempt++) {
    const third = randomBytes(1)[0] ?? 0;
    const prefix = `10.96.${third}.`;
    if ((await subnetInUse(ip, prefix)) || (await addressOwners(ip, prefix)).length > 0) continue;
    return { range: `${prefix}0/24`, kubernetesServiceIp: `${prefix}1` };
  }
  throw new Error('Found no free /24 in 10.96.0.0/16 for the Service network.');
}

async function waitForNodeReady(o: { apiServerUrl: string; name: string; adminTls: TlsClientOptions; kubelet: ManagedProcess; timeoutMs: number }): Promise<void> {
  const deadline = Date.now() + o.timeoutMs;
  let last = 'not registered yet';
  for (;;) {
    if (!o.kubelet.isRunning()) {
      throw new Error(`the kubelet exited before node ${o.name} was Ready; last lines of ${o.kubelet.logFile}:\n${await logTail(o.kubelet.logFile)}`);
    }
    try {
      const { status, body } = await httpGet(`${o.apiServerUrl}/api/v1/nodes/${o.name}`, { tls: o.adminTls, timeoutMs: 5000 });
      if (status === 200) {
        const node = JSON.parse(body) as { status?: { conditions?: Array<{ type: string; status: string; reason?: string; message?: string }> } };
        const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
        if (ready?.status === 'True') return;
        last = ready ? `Ready=${ready.status} (${ready.reason ?? ''}: ${ready.message ?? ''})` : 'no Ready condition yet';
      }
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() > deadline) {
      throw new Error(`node ${o.name} was not Ready within ${o.timeoutMs} ms (last: ${last}); last lines of ${o.kubelet.logFile}:\n${await logTail(o.kubelet.logFile)}`);
    }
    await delay(200);
  }
}

/**
 * Imports an image archive into a node's containerd from outside the
 * process that started it (e.g. `controlplane image` for a node `up` left
 * running); `LocalNode.importImage` does the same for the owner.
 */
export async function importImageArchive(containerdSocket: string, archiveFile: string): Promise<void> {
  const ctr = await which('ctr');
  if (!ctr) throw new Error('ctr not found; on Debian/Ubuntu: apt-get install containerd.');
  await ctrImport(ctr, containerdSocket, archiveFile);
}

async function ctrImport(ctr: string, socket: string, archiveFile: string): Promise<void> {
  // The CRI plugin serves images from the k8s.io namespace only.
  await execFileAsync(ctr, ['--address', socket, '--namespace', 'k8s.io', 'images', 'import', archiveFile], { timeout: 120_000 });
}

async function containerdVersion(containerd: string): Promise<string> {
  const { stdout } = await execFileAsync(containerd, ['--version']);
  return stdout.trim().split(/\s+/)[2] ?? 'unknown';
}

async function hostTools(): Promise<HostTools> {
  const find = async (command: string) => {
    const found = await which(command);
    if (!found) throw new Error(`${command} not found`);
    return found;
  };
  const binDir = await cniBinDir();
  if (!binDir) throw new Error('CNI plugins not found');
  return {
    containerd: await find('containerd'),
    ctr: await find('ctr'),
    runc: await find('runc'),
    shim: await find('containerd-shim-runc-v2'),
    ip: await find('ip'),
    cniBinDir: binDir,
  };
}

async function cniBinDir(): Promise<string | undefined> {
  for (const dir of CNI_PLUGIN_DIRS) {
    const present = await Promise.all(CNI_PLUGINS.map((p) => isExecutable(join(dir, p))));
    if (present.every(Boolean)) return dir;
  }
  return undefined;
}

/** The command's path on PATH, plus the sbin directories a non-login root shell may lack. */
async function which(command: string): Promise<string | undefined> {
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), '/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/bin', '/bin'];
  for (const dir of dirs) {
    const candidate = join(dir, command);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}


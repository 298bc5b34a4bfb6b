import { spawn, execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { access, constants, mkdir, readFile, rename, rm, open } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { acquireDirLock, isErrno } from './lock.ts';

/**
 * Builds (once) and locates the control-plane binaries the tests run:
 * kube-apiserver and kube-controller-manager from the published
 * `k8s.io/kubernetes` module, and etcd from `go.etcd.io/etcd/server/v3`, all
 * pinned by `tools/go.mod`. kubectl comes from the same module, so tests can
 * check what an operator really sees (`kubectl get`, `kubectl kustomize`,
 * `kubectl apply -k`) against the same version as the server. So do
 * kube-scheduler and the kubelet for the optional local node (node.ts), with
 * `pause`, the pod sandbox process containerd cannot pull from a registry.
 *
 * A cold build takes many minutes on two cores, so outputs are cached outside
 * the repository under a key derived from everything that determines them
 * (go.mod, go.sum, the etcd wrapper and the build flags): only the first run
 * pays, and changing a pin rebuilds instead of silently reusing stale bits.
 */

const execFileAsync = promisify(execFile);

export const TOOLS_DIR = fileURLToPath(new URL('./tools/', import.meta.url));

export interface ControlPlaneBinaries {
  kubeApiServer: string;
  kubeControllerManager: string;
  etcd: string;
  /** The client, same version as the server. */
  kubectl: string;
  /** For the local node (node.ts). */
  kubeScheduler: string;
  kubelet: string;
  /** Static pod-sandbox binary (tools/pause), packed into the node's sandbox image. */
  pause: string;
  /** As pinned in tools/go.mod, e.g. `v1.36.3`. */
  kubernetesVersion: string;
  /** As pinned in tools/go.mod, e.g. `v3.6.8`. */
  etcdVersion: string;
}

export interface EnsureBinariesOptions {
  log?: (line: string) => void;
  /** How often build progress is reported. */
  progressIntervalMs?: number;
}

const PACKAGES = [
  'k8s.io/kubernetes/cmd/kube-apiserver',
  'k8s.io/kubernetes/cmd/kube-controller-manager',
  'k8s.io/kubernetes/cmd/kubectl',
  'k8s.io/kubernetes/cmd/kube-scheduler',
  'k8s.io/kubernetes/cmd/kubelet',
  './etcd',
  './pause',
] as const;
const OUTPUT_NAMES = {
  kubeApiServer: 'kube-apiserver',
  kubeControllerManager: 'kube-controller-manager',
  kubectl: 'kubectl',
  kubeScheduler: 'kube-scheduler',
  kubelet: 'kubelet',
  etcd: 'etcd',
  pause: 'pause',
} as const;
/** Go sources of our own in tools/: part of the cache key. */
const OWN_SOURCES = ['etcd/main.go', 'pause/main.go'] as const;

export interface BuildPlan {
  kubernetesVersion: string;
  etcdVersion: string;
  /** Arguments after `go build`, without `-o`. */
  buildArgs: string[];
  env: Record<string, string>;
  /** Short content hash naming the cache entry. */
  key: string;
  cacheRoot: string;
  entryDir: string;
  binDir: string;
}

/** Where cached builds live: `$FLOTILLA_CACHE_DIR` or `${XDG_CACHE_HOME:-~/.cache}/flotilla`. */
export function flotillaCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.FLOTILLA_CACHE_DIR) return env.FLOTILLA_CACHE_DIR;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'flotilla');
}

export function pinnedVersions(goMod: string): { kubernetesVersion: string; etcdVersion: string } {
  const kubernetes = /^\s*k8s\.io\/kubernetes\s+(v\d+\.\d+\.\d+\S*)/m.exec(goMod)?.[1];
  const etcd = /^\s*go\.etcd\.io\/etcd\/server\/v3\s+(v\d+\.\d+\.\d+\S*)/m.exec(goMod)?.[1];
  if (!kubernetes) throw new Error('tools/go.mod does not require k8s.io/kubernetes at a version.');
  if (!etcd) throw new Error('tools/go.mod does not require go.etcd.io/etcd/server/v3 at a version.');
  return { kubernetesVersion: kubernetes, etcdVersion: etcd };
}

export async function planBuild(env: NodeJS.ProcessEnv = process.env): Promise<BuildPlan> {
  const [goMod, goSum, ...ownSources] = await Promise.all(
    ['go.mod', 'go.sum', ...OWN_SOURCES].map((file) => readFile(join(TOOLS_DIR, file), 'utf8')),
  ) as [string, string, ...string[]];
  const { kubernetesVersion, etcdVersion } = pinnedVersions(goMod);
  const [, major, minor] = /^v(\d+)\.(\d+)\./.exec(kubernetesVersion) ?? [];
  // Without these -X flags the binaries report v0.0.0 and refuse clients
  // that check the server version; they mirror what `make` stamps.
  const ldflags = [
    '-s -w',
    `-X k8s.io/component-base/version.gitVersion=${kubernetesVersion}`,
    `-X k8s.io/component-base/version.gitMajor=${major}`,
    `-X k8s.io/component-base/version.gitMinor=${minor}`,
  ].join(' ');
  const buildArgs = ['-trimpath', '-p', '2', '-ldflags', ldflags, ...PACKAGES];
  const buildEnv = { CGO_ENABLED: '0' };
  const key = createHash('sha256')
    .update(JSON.stringify({ goMod, goSum, ownSources, buildArgs, buildEnv, platform: `${process.platform}-${process.arch}` }))
    .digest('hex')
    .slice(0, 16);
  const cacheRoot = join(flotillaCacheDir(env), 'controlplane');
  const entryDir = join(cacheRoot, key);
  return { kubernetesVersion, etcdVersion, buildArgs, env: buildEnv, key, cacheRoot, entryDir, binDir: join(entryDir, 'bin') };
}

function binariesIn(binDir: string, plan: BuildPlan): ControlPlaneBinaries {
  return {
    kubeApiServer: join(binDir, OUTPUT_NAMES.kubeApiServer),
    kubeControllerManager: join(binDir, OUTPUT_NAMES.kubeControllerManager),
    etcd: join(binDir, OUTPUT_NAMES.etcd),
    kubectl: join(binDir, OUTPUT_NAMES.kubectl),
    kubeScheduler: join(binDir, OUTPUT_NAMES.kubeScheduler),
    kubelet: join(binDir, OUTPUT_NAMES.kubelet),
    pause: join(binDir, OUTPUT_NAMES.pause),
    kubernetesVersion: plan.kubernetesVersion,
    etcdVersion: plan.etcdVersion,
  };
}

/** Whether `path` exists and this process may execute it. */
export async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function allExecutable(binaries: ControlPlaneBinaries): Promise<boolean> {
  try {
    const paths = (Object.keys(OUTPUT_NAMES) as Array<keyof typeof OUTPUT_NAMES>).map((name) => binaries[name]);
    await Promise.all(paths.map((p) => access(p, constants.X_OK)));
    return true;
  } catch {
    return false;
  }
}

export async function ensureControlPlaneBinaries(options: EnsureBinariesOptions = {}): Promise<ControlPlaneBinaries> {
  const log = options.log ?? ((line: string) => process.stderr.write(`[controlplane] ${line}\n`));
  const plan = await planBuild();
  const cached = binariesIn(plan.binDir, plan);
  // The bin dir only ever appears by atomic rename of a complete, verified
  // build, so its presence alone means the cache entry is usable.
  if (await allExecutable(cached)) return cached;

  const lock = await acquireDirLock(join(plan.cacheRoot, `${plan.key}.lock`), {
    onWait: (owner, waitedMs) =>
      log(`waiting for ${owner ? `pid ${owner.pid} on ${owner.hostname}` : 'another process'} to finish building the control plane (${formatDuration(waitedMs)} so far)`),
  });
  try {
    if (await allExecutable(cached)) return cached; // built while we waited
    await buildInto(plan, log, options.progressIntervalMs ?? 15_000);
    return cached;
  } finally {
    await lock.release();
  }
}

async function buildInto(plan: BuildPlan, log: (line: string) => void, progressIntervalMs: number): Promise<void> {
  await mkdir(plan.entryDir, { recursive: true });
  const tmpDir = join(plan.entryDir, `bin.tmp-${process.pid}-${randomUUID().slice(0, 8)}`);
  await mkdir(tmpDir);
  try {
    const started = Date.now();
    const total = await countPackages(plan).catch(() => undefined);
    log(
      `building kube-apiserver, kube-controller-manager, kubectl, kube-scheduler, kubelet ${plan.kubernetesVersion}, etcd ${plan.etcdVersion} and pause` +
        `${total ? ` (${total} packages)` : ''} into ${plan.binDir} (about 8 minutes on 2 cores with a cold Go build cache, seconds with a warm one)`,
    );
    await runGoBuild(plan, tmpDir, join(plan.entryDir, 'build.log'), (compiled) => {
      log(`building: ${compiled}${total ? `/${total}` : ''} packages compiled, ${formatDuration(Date.now() - started)} elapsed`);
    }, progressIntervalMs);
    const built = binariesIn(tmpDir, plan);
    await verifyVersions(built);
    try {
      await rename(tmpDir, plan.binDir);
    } catch (error) {
      // Another builder (after a broken stale lock) published first; theirs is as good.
      if (!isErrno(error, 'ENOTEMPTY') && !isErrno(error, 'EEXIST')) throw error;
    }
    log(`built control plane in ${formatDuration(Date.now() - started)}`);
  } finally {
    await rm(tmpDir, { recursive: true, force: true });
  }
}

function goBinary(): string {
  return process.env.FLOTILLA_GO || 'go';
}

async function countPackages(plan: BuildPlan): Promise<number> {
  const { stdout } = await execFileAsync(goBinary(), ['list', '-deps', ...PACKAGES], {
    cwd: TOOLS_DIR,
    env: { ...process.env, ...plan.env },
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout.split('\n').filter((line) => line.trim() !== '').length;
}

const PACKAGE_LINE = /^[\w.-]+(\/[\w.~+-]+)*$/;

async function runGoBuild(
  plan: BuildPlan,
  outDir: string,
  logFile: string,
  onProgress: (compiled: number) => void,
  progressIntervalMs: number,
): Promise<void> {
  const logHandle = await open(logFile, 'w');
  try {
    const args = ['build', '-v', '-o', `${outDir}/`, ...plan.buildArgs];
    await logHandle.write(`$ go ${args.join(' ')}\n`);
    // `go build -v` prints each package as it is compiled: counting those
    // lines is the only progress signal the go command offers.
    const child = spawn(goBinary(), args, { cwd: TOOLS_DIR, env: { ...process.env, ...plan.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let compiled = 0;
    const tail: string[] = [];
    let partial = '';
    const writes: Promise<unknown>[] = [];
    const onData = (chunk: Buffer) => {
      writes.push(logHandle.write(chunk));
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (PACKAGE_LINE.test(line)) compiled += 1;
        else tail.push(line);
        if (tail.length > 40) tail.shift();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setInterval(() => onProgress(compiled), progressIntervalMs);
    try {
      const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
        child.on('error', reject);
        child.on('close', (code, signal) => resolve({ code, signal }));
      });
      await Promise.allSettled(writes);
      if (code !== 0) {
        const errors = [...tail, partial].filter((line) => line.trim() !== '').slice(-20).join('\n');
        throw new Error(`go build of the control plane failed (${signal ?? `exit ${code}`}); full log in ${logFile}:\n${errors}`);
      }
    } catch (error) {
      if (isErrno(error, 'ENOENT')) {
        throw new Error(`The Go toolchain (\`${goBinary()}\`) was not found; install Go 1.26+ or point FLOTILLA_GO at it to build the control plane.`);
      }
      throw error;
    } finally {
      clearInterval(timer);
    }
  } finally {
    await logHandle.close();
  }
}

async function verifyVersions(binaries: ControlPlaneBinaries): Promise<void> {
  const expectations: Array<[string, string[], string]> = [
    [binaries.kubeApiServer, ['--version'], `Kubernetes ${binaries.kubernetesVersion}`],
    [binaries.kubeControllerManager, ['--version'], `Kubernetes ${binaries.kubernetesVersion}`],
    [binaries.kubectl, ['version', '--client'], `Client Version: ${binaries.kubernetesVersion}`],
    [binaries.kubeScheduler, ['--version'], `Kubernetes ${binaries.kubernetesVersion}`],
    [binaries.kubelet, ['--version'], `Kubernetes ${binaries.kubernetesVersion}`],
    [binaries.etcd, ['--version'], `etcd Version: ${binaries.etcdVersion.replace(/^v/, '')}`],
  ];
  for (const [binary, args, expected] of expectations) {
    const { stdout } = await execFileAsync(binary, args, { timeout: 30_000 });
    if (!stdout.includes(expected)) {
      throw new Error(`${binary} ${args.join(' ')} printed ${JSON.stringify(stdout.trim())}, expected it to contain ${JSON.stringify(expected)}.`);
    }
  }
}

export function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
}

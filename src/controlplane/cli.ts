/**
 * `flotilla controlplane <up|down|status|image> [--dir DIR]` (also
 * `npm run controlplane -- …`): a local control plane that outlives the
 * command, for manual poking with kubectl. `up` starts it detached and
 * records what it started in DIR/state.json; `down` stops exactly those
 * processes.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as delay } from 'node:timers/promises';
import { formatDuration, TOOLS_DIR } from './binaries.ts';
import { httpGet } from './health.ts';
import { startControlPlane, type ControlPlaneState } from './harness.ts';
import { buildFlotillaImage } from './flotilla-image.ts';
import { cleanUpNode, importImageArchive, nodePrerequisiteProblem } from './node.ts';
import { isPidAlive } from './lock.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DEFAULT_DIR = join(REPO_ROOT, '.cache', 'controlplane');
const STATE_FILE = 'state.json';

const usage = (program: string) => `Usage: ${program} <command> [options]

Commands:
  up       Start etcd, kube-apiserver and kube-controller-manager in the background
           and return once the API server is ready (builds the binaries on first use).
  down     Stop the processes recorded by \`up\` and delete etcd's data.
  status   Say whether the recorded control plane is running (exit 0) or not (exit 1).
  image    Build Flotilla's container image as an OCI archive without Docker (cached
           by its inputs), and import it into the node of the control plane in DIR
           if \`up --with-node\` started one: docker.io/library/flotilla:latest, the
           image config/default deploys.

Options:
  --dir DIR                 Working directory: kubeconfig, certificates, logs, state
                            (default: ${DEFAULT_DIR}).
  --request-timeout DUR     kube-apiserver --request-timeout (default 60s).
  --no-controller-manager   Do not run kube-controller-manager.
  --with-node               Also run kube-scheduler and one worker node (kubelet,
                            the machine's containerd and runc, bridge CNI) so pods
                            run; needs root and Debian's containerd, runc and
                            containernetworking-plugins. Images are imported with
                            ctr --address DIR/node/containerd/containerd.sock -n k8s.io
                            images import ARCHIVE (there is no registry).
  -h, --help                Show this help.

After \`up\`: export KUBECONFIG=DIR/admin.kubeconfig

Exit codes: 0 done (status: running); 1 failed (status: not running); 2 usage error.`;

export class UsageError extends Error {}

interface CliState extends ControlPlaneState {
  formatVersion: 1;
}

/** Runs one command; throws UsageError for usage mistakes. `program` names the command in messages. */
export async function main(argv: string[], program = 'npm run controlplane --'): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        dir: { type: 'string' },
        'request-timeout': { type: 'string' },
        'no-controller-manager': { type: 'boolean' },
        'with-node': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // Node's own text for this case runs to three sentences.
    const unknown = /^Unknown option '([^']+)'/.exec(message)?.[1];
    throw new UsageError(`${unknown ? `Unknown option ${unknown}` : message.replace(/\.$/, '')}; run with --help for usage.`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(usage(program));
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('Expected exactly one command (up, down, status or image); run with --help for usage.');
  const dir = resolve(values.dir ?? DEFAULT_DIR);
  switch (positionals[0]) {
    case 'up':
      if (!existsSync(join(TOOLS_DIR, 'go.mod'))) {
        throw new UsageError('The local control plane needs a source checkout of Flotilla (its Go module is not in this installation); use a real cluster with --kubeconfig instead.');
      }
      if (values['with-node'] && values['no-controller-manager']) {
        throw new UsageError('--with-node needs kube-controller-manager (Deployments, node lifecycle); drop --no-controller-manager.');
      }
      return up(dir, program, { requestTimeout: values['request-timeout'], controllerManager: !values['no-controller-manager'], withNode: values['with-node'] ?? false });
    case 'down':
      return down(dir);
    case 'status':
      return status(dir);
    case 'image':
      // The image is built from the sources with the project's TypeScript and pinned Node.
      if (!existsSync(join(REPO_ROOT, 'tsconfig.build.json')) || !existsSync(join(REPO_ROOT, 'node_modules', 'typescript'))) {
        throw new UsageError('Building the image needs a source checkout of Flotilla with its dev dependencies (npm ci); elsewhere build it with the Dockerfile.');
      }
      return image(dir);
    default:
      throw new UsageError(`Unknown command "${positionals[0]}"; expected up, down, status or image (see --help).`);
  }
}

async function up(dir: string, program: string, options: { requestTimeout: string | undefined; controllerManager: boolean; withNode: boolean }): Promise<number> {
  const existing = await readState(dir);
  if (existing) {
    const running = runningProcesses(existing);
    if (running.length === recordedProcesses(existing).length && (await apiServerReady(existing))) {
      console.log(`A control plane is already running in ${dir} (API server ${existing.apiServerUrl}); not starting another.`);
      printWhereThingsAre(existing);
      return 0;
    }
    console.log(`Cleaning up a control plane in ${dir} that is no longer complete (${running.length}/${recordedProcesses(existing).length} processes alive).`);
    await stopRecorded(existing, dir);
  }
  if (options.withNode) {
    // Before anything starts: one sentence on what to install beats a log tail.
    const problem = await nodePrerequisiteProblem();
    if (problem) throw new Error(problem);
  }

  const started = Date.now();
  const cp = await startControlPlane({
    dir,
    detached: true,
    controllerManager: options.controllerManager,
    node: options.withNode,
    ...(options.requestTimeout ? { requestTimeout: options.requestTimeout } : {}),
    log: (line) => console.log(`[controlplane] ${line}`),
  });
  const state: CliState = { formatVersion: 1, ...cp.state() };
  await writeFile(join(dir, STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
  console.log(`Control plane ready in ${formatDuration(Date.now() - started)}; it keeps running until \`${program} down --dir ${dir}\`.`);
  printWhereThingsAre(state);
  return 0;
}

async function image(dir: string): Promise<number> {
  const started = Date.now();
  const built = await buildFlotillaImage({ log: (line) => console.log(`[controlplane] ${line}`) });
  console.log(`${built.cached ? 'Reused' : 'Built'} ${built.file} (${(built.sizeBytes / 1e6).toFixed(0)} MB, ${built.manifestDigest}) in ${formatDuration(Date.now() - started)}: ${built.names.join(', ')}`);
  const state = await readState(dir);
  if (!state?.node) {
    console.log(`No control plane with a node runs in ${dir}; import the archive with ctr -n k8s.io images import ${built.file}.`);
    return 0;
  }
  const importStarted = Date.now();
  await importImageArchive(state.node.containerdSocket, built.file);
  console.log(`Imported into node ${state.node.name} in ${formatDuration(Date.now() - importStarted)}; now: kubectl apply --server-side -k config/default`);
  return 0;
}

async function down(dir: string): Promise<number> {
  const state = await readState(dir);
  if (!state) {
    console.log(`No control plane is recorded in ${dir}; nothing to stop.`);
    return 0;
  }
  const stopped = await stopRecorded(state, dir);
  console.log(
    stopped.length > 0
      ? `Stopped ${stopped.join(', ')} and removed etcd's data; logs remain in ${join(dir, 'logs')}.`
      : `The control plane recorded in ${dir} was no longer running; cleaned up its state.`,
  );
  return 0;
}

async function status(dir: string): Promise<number> {
  const state = await readState(dir);
  if (!state) {
    console.log(`No control plane is recorded in ${dir}.`);
    return 1;
  }
  const running = runningProcesses(state);
  const ready = running.some((p) => p.name === 'kube-apiserver') && (await apiServerReady(state));
  for (const p of recordedProcesses(state)) {
    console.log(`${p.name.padEnd(24)} pid ${String(p.pid).padEnd(8)} ${running.includes(p) ? 'running' : 'not running'}`);
  }
  console.log(ready ? `API server ready at ${state.apiServerUrl}` : 'API server not ready');
  if (ready) printWhereThingsAre(state);
  return ready && running.length === recordedProcesses(state).length ? 0 : 1;
}

function printWhereThingsAre(state: ControlPlaneState): void {
  console.log(`  API server:   ${state.apiServerUrl} (Kubernetes ${state.kubernetesVersion})`);
  console.log(`  etcd:         ${state.etcdClientUrl} (etcd ${state.etcdVersion}, data in ${state.etcdDataDir})`);
  console.log(`  kubeconfig:   ${state.adminKubeconfig}`);
  console.log(`  logs:         ${join(state.dir, 'logs')}`);
  if (state.node) {
    console.log(`  node:         ${state.node.name} at ${state.node.nodeIp}, pods in ${state.node.podSubnet} (logs in ${join(state.node.dir, 'logs')})`);
    console.log(`  images:       ctr --address ${state.node.containerdSocket} -n k8s.io images import ARCHIVE`);
  }
  console.log(`  export KUBECONFIG=${state.adminKubeconfig}`);
}

async function readState(dir: string): Promise<CliState | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, STATE_FILE), 'utf8');
  } catch {
    return undefined;
  }
  const state = JSON.parse(text) as Partial<CliState>;
  if (state.formatVersion !== 1 || !Array.isArray(state.processes)) {
    throw new Error(`${join(dir, STATE_FILE)} is not a state file this version understands; remove it after stopping its processes by hand.`);
  }
  return state as CliState;
}

/**
 * A recorded pid only counts if it still runs the recorded binary: after a
 * reboot or a long time the number may belong to an unrelated process,
 * which `down` must never signal.
 */
function isRecordedProcess(pid: number, binary: string): boolean {
  if (!isPidAlive(pid)) return false;
  try {
    const argv0 = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] ?? '';
    return argv0 === binary;
  } catch {
    // No /proc (not Linux): trust the pid.
    return true;
  }
}

type RecordedProcess = { name: string; pid: number; binary: string };

/** Control-plane components and, with a node, its containerd and kubelet. */
function recordedProcesses(state: ControlPlaneState): RecordedProcess[] {
  return [...state.processes, ...(state.node?.processes ?? [])];
}

function runningProcesses(state: ControlPlaneState): RecordedProcess[] {
  return recordedProcesses(state).filter((p) => isRecordedProcess(p.pid, p.binary));
}

async function apiServerReady(state: ControlPlaneState): Promise<boolean> {
  try {
    const ca = await readFile(state.caFile, 'utf8');
    const result = await httpGet(`${state.apiServerUrl}/readyz`, { tls: { ca }, timeoutMs: 3000 });
    // Anonymous requests may read /readyz (system:public-info-viewer).
    return result.status === 200;
  } catch {
    return false;
  }
}

async function stopRecorded(state: CliState, dir: string): Promise<string[]> {
  const stopped: string[] = [];
  // The node first (its script kills every container, unmounts and removes
  // its bridge and cgroups), etcd last: nothing logs errors about a
  // dependency that disappeared before it.
  if (state.node) {
    for (const p of state.node.processes) {
      if (!isRecordedProcess(p.pid, p.binary)) continue;
      stopped.push(`${p.name} (pid ${p.pid})`);
    }
    await cleanUpNode(state.node);
  }
  const order = ['kube-scheduler', 'kube-controller-manager', 'kube-apiserver', 'etcd'];
  const processes = [...state.processes].sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
  for (const p of processes) {
    if (!isRecordedProcess(p.pid, p.binary)) continue;
    try {
      process.kill(p.pid, 'SIGCONT'); // a paused etcd ignores SIGTERM until continued
      process.kill(p.pid, 'SIGTERM');
    } catch {
      continue; // exited meanwhile
    }
    const deadline = Date.now() + 15_000;
    while (isPidAlive(p.pid) && Date.now() < deadline) await delay(100);
    if (isPidAlive(p.pid)) process.kill(p.pid, 'SIGKILL');
    stopped.push(`${p.name} (pid ${p.pid})`);
  }
  // Only ever delete what `up` created: a flotilla-etcd-* scratch directory.
  if (basename(state.etcdDataDir).startsWith('flotilla-etcd-') && dirname(state.etcdDataDir) !== '/') {
    await rm(state.etcdDataDir, { recursive: true, force: true });
  }
  await rm(join(dir, STATE_FILE), { force: true });
  return stopped;
}

/** main() with errors printed: usage errors as one sentence (exit 2), failures with their detail (exit 1). */
export async function runControlplaneCommand(argv: string[], program?: string): Promise<number> {
  try {
    return await main(argv, program);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // Usage errors are one sentence; startup failures carry log tails worth seeing.
    console.error(error instanceof UsageError ? message : `controlplane: ${message}`);
    return error instanceof UsageError ? 2 : 1;
  }
}

// Run directly (`npm run controlplane`), not imported by the flotilla CLI.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await runControlplaneCommand(process.argv.slice(2));
}

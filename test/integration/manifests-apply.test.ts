/**
 * What an operator types, run for real: every `kubectl apply` command of the
 * README's "Deploying to a real cluster" section, taken from the README text
 * itself, with the real kubectl (same version as the server) on fresh control
 * planes: the step-by-step order, `config/default` and `config/install.yaml`
 * each on their own, `config/rbac` on its own, and `config/manager` by a user
 * who is only `admin` of flotilla-system. After each apply, `kubectl get`
 * finds every object the kustomization renders; and the project's renderer
 * (scripts/kustomize.ts, behind config/install.yaml and the unit tests) gives
 * exactly what `kubectl kustomize` gives.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { startControlPlane, type ControlPlane } from '../../src/controlplane/harness.ts';
import { waitFor } from '../support/kube.ts';
import { kubectl, kubectlOk, type KubectlResult } from '../support/kubectl.ts';
import { CONFIG_DIR, renderKustomization, REPO_ROOT, type Manifest } from '../unit/manifests/kustomize.ts';

/** The README's commands, in its order; a change there must be a change here. */
const README_COMMANDS = [
  'kubectl apply --server-side -k config/default',
  'kubectl apply --server-side -f config/install.yaml',
  'kubectl apply --server-side -k config/crd',
  'kubectl apply --server-side -k config/rbac',
  'kubectl apply --server-side -k config/manager',
  'kubectl apply --server-side -k config/prometheus',
  'kubectl apply --server-side -k config/samples',
];
const STEP_BY_STEP = README_COMMANDS.slice(2);

/** Lines starting with `kubectl apply` in the shell blocks of the README's deployment section, comments stripped, each once (in order of first appearance). */
function readmeApplyCommands(): string[] {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Deploying to a real cluster');
  assert.ok(start >= 0, 'README has a "Deploying to a real cluster" section');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const commands: string[] = [];
  for (const [, block] of section.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const line of (block ?? '').split('\n')) {
      const command = line.replace(/#.*$/, '').trim().replace(/\s+/g, ' ');
      if (command.startsWith('kubectl apply') && !commands.includes(command)) commands.push(command);
    }
  }
  return commands;
}

/** Runs a README command (`kubectl …`) against `kubeconfig`, from the repository root as the README assumes. */
async function runReadme(kubeconfig: string, command: string): Promise<KubectlResult> {
  assert.ok(README_COMMANDS.includes(command), `${command} is one of the README's commands`);
  const [binary, ...args] = command.split(' ');
  assert.equal(binary, 'kubectl');
  return kubectl(kubeconfig, args, { cwd: REPO_ROOT, timeoutMs: 120_000 });
}

async function expectApplies(kubeconfig: string, command: string): Promise<void> {
  const result = await runReadme(kubeconfig, command);
  assert.equal(result.code, 0, `${command} exited ${result.code}:\n${result.stderr}`);
  // kubectl prints one "<resource>/<name> serverside-applied" line per object.
  assert.match(result.stdout, /serverside-applied/, `${command} applied nothing:\n${result.stdout}`);
}

/** `kubectl get -o name` spelling of an object: `deployment.apps/flotilla-controller`. */
function resourceName(o: Manifest): string {
  const group = o.apiVersion.includes('/') ? `.${o.apiVersion.split('/')[0]}` : '';
  return `${o.kind.toLowerCase()}${group}/${o.metadata.name}`;
}

/**
 * Every object of the kustomization (or file) exists: `kubectl get -k`/`-f`
 * fails on the first missing one, and names each it finds.
 */
async function expectAllExist(kubeconfig: string, source: { kustomization: string } | { file: string }): Promise<void> {
  const [flag, path, objects] =
    'kustomization' in source
      ? (['-k', `config/${source.kustomization}`, renderKustomization(join(CONFIG_DIR, source.kustomization))] as const)
      : (['-f', source.file, objectsOfFile(join(REPO_ROOT, source.file))] as const);
  const result = await kubectl(kubeconfig, ['get', flag, path, '-o', 'name'], { cwd: REPO_ROOT });
  assert.equal(result.code, 0, `kubectl get ${flag} ${path}: ${result.stderr}`);
  const found = result.stdout.trim().split('\n').sort();
  assert.ok(objects.length > 0);
  assert.deepEqual(found, objects.map(resourceName).sort(), `the objects of ${path} on the server`);
}

function objectsOfFile(file: string): Manifest[] {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((d) => d.toJS() as Manifest | null)
    .filter((o): o is Manifest => o !== null);
}

/**
 * The Prometheus Operator's CRDs stand in by name and scope only (any spec is
 * kept): enough to show that config/prometheus applies after config/default,
 * not a check of its fields against the operator's schema.
 */
const PROMETHEUS_OPERATOR_STAND_INS = ['ServiceMonitor', 'PrometheusRule'].map((kind) => ({
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `${kind.toLowerCase()}s.monitoring.coreos.com` },
  spec: {
    group: 'monitoring.coreos.com',
    scope: 'Namespaced',
    names: { kind, plural: `${kind.toLowerCase()}s`, singular: kind.toLowerCase(), listKind: `${kind}List` },
    versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
  },
}));

async function installPrometheusOperatorStandIns(kubeconfig: string): Promise<void> {
  const input = PROMETHEUS_OPERATOR_STAND_INS.map((o) => JSON.stringify(o)).join('\n');
  await kubectlOk(kubeconfig, ['apply', '--server-side', '-f', '-'], { input });
  await kubectlOk(kubeconfig, ['wait', '--for=condition=Established', '--timeout=60s', ...PROMETHEUS_OPERATOR_STAND_INS.map((o) => `crd/${o.metadata.name}`)]);
}

/** One fresh control plane per describe block: "fresh" is the point. */
function freshControlPlane(options: { controllerManager: boolean }): { kubeconfig: () => string; cp: () => ControlPlane } {
  let cp: ControlPlane | undefined;
  before(async () => {
    cp = await startControlPlane({ controllerManager: options.controllerManager });
  });
  after(async () => {
    await cp?.stop();
  });
  return {
    kubeconfig: () => {
      assert.ok(cp, 'control plane started');
      return cp.adminKubeconfig;
    },
    cp: () => {
      assert.ok(cp, 'control plane started');
      return cp;
    },
  };
}

describe('the README and the renderer', () => {
  it('the README lists exactly the commands these tests run', () => {
    assert.deepEqual(readmeApplyCommands(), README_COMMANDS);
  });

  it('scripts/kustomize.ts renders every kustomization exactly as `kubectl kustomize` does (objects, fields and order)', async () => {
    // Any kubeconfig: `kubectl kustomize` reads no cluster.
    for (const dir of ['crd', 'rbac', 'manager', 'default', 'prometheus', 'samples']) {
      const real = objectsOfText(await kubectlOk('/dev/null', ['kustomize', `config/${dir}`], { cwd: REPO_ROOT }));
      const ours = JSON.parse(JSON.stringify(renderKustomization(join(CONFIG_DIR, dir)))) as Manifest[];
      assert.deepEqual(ours.map(resourceName), real.map(resourceName), `config/${dir}: the same objects in the same order`);
      assert.deepEqual(ours, real, `config/${dir}: the same fields`);
    }
  });
});

function objectsOfText(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Manifest | null)
    .filter((o): o is Manifest => o !== null);
}

describe('the README step by step, on a fresh control plane', () => {
  const { kubeconfig } = freshControlPlane({ controllerManager: false });

  it('config/crd, config/rbac, config/manager each apply in turn, and their objects exist', async () => {
    const crd = STEP_BY_STEP[0]!;
    await expectApplies(kubeconfig(), crd);
    await expectAllExist(kubeconfig(), { kustomization: 'crd' });
    const crds = renderKustomization(join(CONFIG_DIR, 'crd')).filter((o) => o.kind === 'CustomResourceDefinition');
    await kubectlOk(kubeconfig(), ['wait', '--for=condition=Established', '--timeout=60s', ...crds.map((o) => `crd/${o.metadata.name}`)]);

    await expectApplies(kubeconfig(), STEP_BY_STEP[1]!);
    await expectAllExist(kubeconfig(), { kustomization: 'rbac' });

    await expectApplies(kubeconfig(), STEP_BY_STEP[2]!);
    await expectAllExist(kubeconfig(), { kustomization: 'manager' });
    // Together they are config/default.
    await expectAllExist(kubeconfig(), { kustomization: 'default' });
  });

  it('config/prometheus applies once the Prometheus Operator CRDs exist, and config/samples creates the demo workspace', async () => {
    await installPrometheusOperatorStandIns(kubeconfig());
    await expectApplies(kubeconfig(), STEP_BY_STEP[3]!);
    await expectAllExist(kubeconfig(), { kustomization: 'prometheus' });

    await expectApplies(kubeconfig(), STEP_BY_STEP[4]!);
    await expectAllExist(kubeconfig(), { kustomization: 'samples' });
  });

  it('applying everything again changes nothing and conflicts with nothing (the upgrade path)', async () => {
    for (const command of [README_COMMANDS[0]!, ...STEP_BY_STEP]) {
      const result = await runReadme(kubeconfig(), command);
      assert.equal(result.code, 0, `${command} exited ${result.code}:\n${result.stderr}`);
    }
  });
});

describe('config/default at once, on a fresh control plane', () => {
  const { kubeconfig } = freshControlPlane({ controllerManager: false });

  it('applies, and every object exists', async () => {
    await expectApplies(kubeconfig(), README_COMMANDS[0]!);
    await expectAllExist(kubeconfig(), { kustomization: 'default' });
  });
});

describe('config/install.yaml, on a fresh control plane', () => {
  const { kubeconfig } = freshControlPlane({ controllerManager: false });
  const install = README_COMMANDS[1]!;

  it('a server-side dry run validates every cluster-scoped object, and stops at the namespace it did not create', async () => {
    const args = [...install.split(' ').slice(1), '--dry-run=server'];
    const result = await kubectl(kubeconfig(), args, { cwd: REPO_ROOT });
    // A dry run stores nothing, so flotilla-system does not exist for the objects inside it:
    // the one expected failure on an empty cluster.
    const failures = result.stderr.split('\n').filter((line) => line.trim() !== '');
    assert.notEqual(result.code, 0);
    assert.ok(failures.length > 0, 'the namespaced objects fail');
    for (const line of failures) assert.match(line, /namespaces "flotilla-system" not found/, `only the namespace is missing: ${line}`);
    const dryApplied = result.stdout.split('\n').filter((line) => line.includes('serverside-applied (server dry run)'));
    const clusterScoped = objectsOfFile(join(REPO_ROOT, 'config/install.yaml')).filter((o) => o.metadata.namespace === undefined);
    assert.deepEqual(
      dryApplied.map((line) => line.split(' ')[0]).sort(),
      clusterScoped.map(resourceName).sort(),
      'every cluster-scoped object (Namespace, CRDs, ClusterRoles and bindings, admission policy) passes the dry run',
    );
    const namespace = await kubectl(kubeconfig(), ['get', 'namespace', 'flotilla-system']);
    assert.notEqual(namespace.code, 0, 'the dry run created nothing');
  });

  it('applies for real, every object exists, and then a server-side dry run of it passes cleanly', async () => {
    await expectApplies(kubeconfig(), install);
    await expectAllExist(kubeconfig(), { file: 'config/install.yaml' });

    const dryRun = await kubectl(kubeconfig(), [...install.split(' ').slice(1), '--dry-run=server'], { cwd: REPO_ROOT });
    assert.equal(dryRun.code, 0, dryRun.stderr);
    assert.equal(dryRun.stderr.trim(), '', 'no warnings (the namespace enforces the restricted Pod Security level)');
    assert.equal(dryRun.stdout.trim().split('\n').length, objectsOfFile(join(REPO_ROOT, 'config/install.yaml')).length);

    // It is config/default: applying that over it finds everything in place.
    const again = await runReadme(kubeconfig(), README_COMMANDS[0]!);
    assert.equal(again.code, 0, again.stderr);
    assert.doesNotMatch(again.stdout, /created/);
  });
});

describe('config/rbac on its own, then config/manager by the namespace\'s admin, on a fresh control plane', () => {
  // kube-controller-manager aggregates the built-in `admin` role's rules.
  const { kubeconfig, cp } = freshControlPlane({ controllerManager: true });

  it('config/rbac applies on an empty cluster and creates flotilla-system', async () => {
    await expectApplies(kubeconfig(), STEP_BY_STEP[1]!);
    await expectAllExist(kubeconfig(), { kustomization: 'rbac' });
  });

  it('a user with only the built-in admin role in flotilla-system applies config/manager', async () => {
    await kubectlOk(kubeconfig(), ['-n', 'flotilla-system', 'create', 'rolebinding', 'ops-admin', '--clusterrole=admin', '--user=ops']);
    const ops = await cp().userKubeconfig('ops');
    await waitFor(
      async () => (await kubectl(ops, ['auth', 'can-i', 'create', 'poddisruptionbudgets.policy', '-n', 'flotilla-system'])).stdout.trim() === 'yes',
      { timeoutMs: 30_000, description: 'the admin role to aggregate its rules and reach the authorizer' },
    );
    // Nothing cluster-wide: the same user cannot create a namespace or a ClusterRole.
    assert.equal((await kubectl(ops, ['auth', 'can-i', 'create', 'namespaces'])).stdout.trim(), 'no');
    assert.equal((await kubectl(ops, ['auth', 'can-i', 'create', 'clusterroles'])).stdout.trim(), 'no');

    await expectApplies(ops, STEP_BY_STEP[2]!);
    await expectAllExist(kubeconfig(), { kustomization: 'manager' });
  });
});

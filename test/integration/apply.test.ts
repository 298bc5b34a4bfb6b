/**
 * `flotilla apply` as a user runs it: the CLI as a child process against a
 * real API server with the Flotilla CRDs and the resource-size admission
 * policy installed. A directory becomes a Bundle; a re-run writes nothing;
 * an edit is configured (and a deleted file's resource removed); --dry-run
 * and --diff send no write; a kustomization is rendered by the real
 * kubectl; mistakes are reported with file and line before anything is
 * sent; fields taken from another manager are named.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { KubeConfig } from '@kubernetes/client-node';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import type { Bundle } from '../../src/api/bundle.ts';
import { ensureControlPlaneBinaries } from '../../src/controlplane/binaries.ts';
import { startControlPlane, type ControlPlane } from '../../src/controlplane/harness.ts';
import { readKustomization } from '../../src/quickstart/manifests.ts';
import { REPO_ROOT } from '../support/flotilla.ts';
import { applyManifests, kubeRequest, loadKubeConfig } from '../support/kube.ts';
import { kubectlOk } from '../support/kubectl.ts';

const CLI = join(REPO_ROOT, 'src/cli/main.ts');
const SAMPLE = join(REPO_ROOT, 'config/samples/apply/hello');
const KUSTOMIZE_SAMPLE = join(REPO_ROOT, 'config/samples/apply/hello-kustomize');
const WORKSPACE = 'apply-demo';
const work = mkdtempSync(join(tmpdir(), 'flotilla-apply-it-'));
let cp: ControlPlane;
let kc: KubeConfig;
let kubectlPath: string;

before(async () => {
  cp = await startControlPlane({ controllerManager: false });
  kc = loadKubeConfig(cp.adminKubeconfig);
  // What a user installs: the CRDs and the admission policy next to them.
  await applyManifests(kc, await readKustomization(join(REPO_ROOT, 'config/crd')));
  await applyManifests(kc, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: WORKSPACE, labels: { 'flotilla.dev/workspace': 'true' } } });
  kubectlPath = (await ensureControlPlaneBinaries()).kubectl;
});

after(async () => {
  await cp?.stop();
  rmSync(work, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The CLI as a child process; no kubectl on PATH unless a test puts one there. */
function flotilla(args: string[], options: { env?: Record<string, string>; input?: string } = {}): Run {
  const result = spawnSync(process.execPath, [CLI, 'apply', ...args], {
    env: { PATH: '/nonexistent', HOME: work, KUBECONFIG: cp.adminKubeconfig, ...options.env },
    encoding: 'utf8',
    timeout: 120_000,
    ...(options.input !== undefined ? { input: options.input } : {}),
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

async function getBundle(name: string): Promise<Bundle | undefined> {
  const response = await kubeRequest(kc, { path: `/apis/flotilla.dev/v1alpha1/namespaces/${WORKSPACE}/bundles/${name}` });
  if (response.status === 404) return undefined;
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return response.body as Bundle;
}

function copyOf(dir: string, name: string): string {
  const target = join(work, name);
  cpSync(dir, target, { recursive: true });
  return target;
}

function resourceNames(bundle: Bundle | undefined): string[] {
  return (bundle?.spec.resources ?? []).map((r) => r.name);
}

describe('flotilla apply', () => {
  it('creates the Bundle from the sample directory: one resource per file, flotilla.yaml as targets, options and labels', async () => {
    const run = flotilla(['hello', SAMPLE, '-n', WORKSPACE]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'bundle.flotilla.dev/hello created\n');
    assert.equal(run.stderr, '');
    const bundle = await getBundle('hello');
    assert.deepEqual(resourceNames(bundle), ['app/configmap.yaml', 'app/deployment.yaml', 'namespace.yaml']);
    assert.equal(bundle?.spec.resources?.find((r) => r.name === 'app/deployment.yaml')?.content, readFileSync(join(SAMPLE, 'app/deployment.yaml'), 'utf8'));
    const settings = parseYaml(readFileSync(join(SAMPLE, 'flotilla.yaml'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(bundle?.spec.targets, settings['targets']);
    assert.deepEqual(bundle?.spec.options, settings['options']);
    assert.deepEqual(bundle?.spec.rolloutStrategy, settings['rolloutStrategy']);
    assert.deepEqual(bundle?.metadata.labels, settings['labels']);
    const managers = (bundle?.metadata.managedFields as Array<{ manager: string; operation: string }>).map((m) => `${m.manager}/${m.operation}`);
    assert.deepEqual(managers, ['flotilla-apply/Apply']);
  });

  it('re-applying an unchanged directory prints unchanged and writes nothing', async () => {
    const before = await getBundle('hello');
    const run = flotilla(['hello', SAMPLE, '-n', WORKSPACE]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'bundle.flotilla.dev/hello unchanged\n');
    const after = await getBundle('hello');
    assert.equal(after?.metadata.resourceVersion, before?.metadata.resourceVersion);
  });

  it('an edited file is configured; a deleted file and a deleted setting leave the Bundle', async () => {
    const dir = copyOf(SAMPLE, 'edited');
    assert.equal(flotilla(['edited', dir, '-n', WORKSPACE]).stdout, 'bundle.flotilla.dev/edited created\n');
    const created = await getBundle('edited');
    writeFileSync(join(dir, 'app/configmap.yaml'), readFileSync(join(dir, 'app/configmap.yaml'), 'utf8').replace('hello from flotilla apply', 'hello again'));
    unlinkSync(join(dir, 'namespace.yaml'));
    const settings = parseYaml(readFileSync(join(dir, 'flotilla.yaml'), 'utf8')) as Record<string, unknown>;
    delete settings['rolloutStrategy'];
    writeFileSync(join(dir, 'flotilla.yaml'), stringifyYaml(settings));
    const run = flotilla(['edited', dir, '-n', WORKSPACE]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'bundle.flotilla.dev/edited configured\n');
    const configured = await getBundle('edited');
    assert.notEqual(configured?.metadata.resourceVersion, created?.metadata.resourceVersion);
    assert.deepEqual(resourceNames(configured), ['app/configmap.yaml', 'app/deployment.yaml']);
    assert.match(configured?.spec.resources?.[0]?.content ?? '', /greeting: hello again/);
    assert.equal(configured?.spec.rolloutStrategy, undefined);
    assert.deepEqual(configured?.spec.targets, settings['targets']);
  });

  it('--dry-run prints the Bundle as YAML and writes nothing (and needs no cluster when -n is given)', async () => {
    const dir = copyOf(SAMPLE, 'dry');
    assert.equal(flotilla(['dry', dir, '-n', WORKSPACE]).code, 0);
    const before = await getBundle('dry');
    writeFileSync(join(dir, 'extra.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n');
    const run = flotilla(['dry', dir, '-n', WORKSPACE, '--dry-run']);
    assert.equal(run.code, 0, run.stderr);
    const printed = parseYaml(run.stdout) as Bundle;
    assert.equal(printed.kind, 'Bundle');
    assert.deepEqual(printed.metadata, { name: 'dry', namespace: WORKSPACE, labels: { 'app.kubernetes.io/name': 'hello' } });
    assert.deepEqual(resourceNames(printed), ['app/configmap.yaml', 'app/deployment.yaml', 'extra.yaml', 'namespace.yaml']);
    assert.match(run.stderr, /^bundle\.flotilla\.dev\/dry: 4 resources \(5 objects\), settings from .*flotilla\.yaml; dry run: nothing sent\n$/);
    const after = await getBundle('dry');
    assert.equal(after?.metadata.resourceVersion, before?.metadata.resourceVersion);
    assert.deepEqual(resourceNames(after), ['app/configmap.yaml', 'app/deployment.yaml', 'namespace.yaml']);
    const offline = flotilla(['dry', dir, '-n', WORKSPACE, '--dry-run'], { env: { KUBECONFIG: '' } });
    assert.equal(offline.code, 0, offline.stderr);
    assert.equal(offline.stdout, run.stdout);
  });

  it('--diff shows added, removed and changed resources and fields with unified diffs, exits 1, writes nothing; 0 once applied', async () => {
    const dir = copyOf(SAMPLE, 'diffed');
    assert.equal(flotilla(['diffed', dir, '-n', WORKSPACE]).code, 0);
    const before = await getBundle('diffed');
    writeFileSync(join(dir, 'app/configmap.yaml'), readFileSync(join(dir, 'app/configmap.yaml'), 'utf8').replace('hello from flotilla apply', 'hello, diff'));
    writeFileSync(join(dir, 'extra.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n');
    unlinkSync(join(dir, 'namespace.yaml'));
    writeFileSync(join(dir, 'flotilla.yaml'), readFileSync(join(dir, 'flotilla.yaml'), 'utf8').replace('maxUnavailable: 1', 'maxUnavailable: 2'));
    const diff = flotilla(['diffed', dir, '-n', WORKSPACE, '--diff']);
    assert.equal(diff.code, 1, diff.stderr);
    assert.equal(
      diff.stdout.split('\n\n')[0],
      [
        `bundle.flotilla.dev/diffed (namespace ${WORKSPACE}) would be configured:`,
        '  ~ resource app/configmap.yaml (changed)',
        '  + resource extra.yaml (added)',
        '  - resource namespace.yaml (removed)',
        '  ~ spec.rolloutStrategy (changed)',
      ].join('\n'),
    );
    assert.ok(
      diff.stdout.includes(
        [
          '--- live/app/configmap.yaml',
          '+++ applied/app/configmap.yaml',
          '@@ -3,4 +3,4 @@',
          ' metadata:',
          '   name: hello-config',
          ' data:',
          '-  greeting: hello from flotilla apply',
          '+  greeting: hello, diff',
          '',
        ].join('\n'),
      ),
      diff.stdout,
    );
    assert.match(diff.stdout, /\n--- live\/spec\.rolloutStrategy\n\+\+\+ applied\/spec\.rolloutStrategy\n@@ -1 \+1 @@\n-maxUnavailable: 1\n\+maxUnavailable: 2\n/);
    assert.equal((await getBundle('diffed'))?.metadata.resourceVersion, before?.metadata.resourceVersion, '--diff wrote');
    assert.equal(flotilla(['diffed', dir, '-n', WORKSPACE]).stdout, 'bundle.flotilla.dev/diffed configured\n');
    const none = flotilla(['diffed', dir, '-n', WORKSPACE, '--diff']);
    assert.equal(none.code, 0, none.stderr);
    assert.equal(none.stdout, `bundle.flotilla.dev/diffed (namespace ${WORKSPACE}): no changes\n`);
    // A Bundle that does not exist yet: everything would be created.
    const created = flotilla(['not-yet', dir, '-n', WORKSPACE, '--diff']);
    assert.equal(created.code, 1);
    assert.match(created.stdout, /^bundle\.flotilla\.dev\/not-yet \(namespace apply-demo\) would be created:\n {2}\+ resource app\/configmap\.yaml \(added\)\n/);
    assert.equal(await getBundle('not-yet'), undefined);
  });

  it('renders a kustomization with the real kubectl (--kubectl or FLOTILLA_KUBECTL), and says what to do without one', async () => {
    const missing = flotilla(['kustomized', KUSTOMIZE_SAMPLE, '-n', WORKSPACE]);
    assert.equal(missing.code, 2);
    assert.equal(
      missing.stderr,
      `${join(KUSTOMIZE_SAMPLE, 'kustomization.yaml')}: rendering a kustomization needs kubectl (kubectl kustomize), and there is no kubectl on PATH; install kubectl, or pass --kubectl PATH (or set FLOTILLA_KUBECTL)\n`,
    );
    assert.equal(await getBundle('kustomized'), undefined);

    const run = flotilla(['kustomized', KUSTOMIZE_SAMPLE, '-n', WORKSPACE, '--kubectl', kubectlPath]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'bundle.flotilla.dev/kustomized created\n');
    const rendered = await kubectlOk(cp.adminKubeconfig, ['kustomize', KUSTOMIZE_SAMPLE]);
    const configMapName = /name: (hello-config-[a-z0-9]+)/.exec(rendered)?.[1];
    assert.ok(configMapName, rendered);
    const bundle = await getBundle('kustomized');
    assert.deepEqual(resourceNames(bundle), ['namespace/hello-kustomize.yaml', `hello-kustomize/configmap/${configMapName}.yaml`, 'hello-kustomize/service/hello.yaml']);
    const service = parseYaml(bundle?.spec.resources?.[2]?.content ?? '') as { metadata: { labels: Record<string, string>; namespace: string } };
    assert.equal(service.metadata.namespace, 'hello-kustomize');
    assert.equal(service.metadata.labels['app.kubernetes.io/part-of'], 'hello-kustomize');
    assert.deepEqual(bundle?.spec.targets, [{ clusterSelector: { matchLabels: { env: 'staging' } } }]);
    const again = flotilla(['kustomized', KUSTOMIZE_SAMPLE, '-n', WORKSPACE], { env: { FLOTILLA_KUBECTL: kubectlPath } });
    assert.equal(again.stdout, 'bundle.flotilla.dev/kustomized unchanged\n', again.stderr);
  });

  it('a bad YAML file or a manifest without a name is FILE:LINE, exit 2, and nothing is sent', async () => {
    const dir = join(work, 'bad');
    cpSync(SAMPLE, dir, { recursive: true });
    writeFileSync(join(dir, 'broken.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: [1, 2\n');
    writeFileSync(join(dir, 'app/unnamed.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fine\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  labels: {a: b}\n');
    const run = flotilla(['bad', dir, '-n', WORKSPACE]);
    assert.equal(run.code, 2);
    assert.equal(run.stdout, '');
    assert.deepEqual(run.stderr.trimEnd().split('\n'), [
      `${join(dir, 'app/unnamed.yaml')}:5: document 2: metadata.name is missing or not a non-empty string`,
      `${join(dir, 'broken.yaml')}:7: document 1: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]`,
    ]);
    assert.equal(await getBundle('bad'), undefined);
  });

  it('input over the size limit is refused before sending, naming the total and the limit, in UTF-8 bytes', async () => {
    const dir = join(work, 'large');
    mkdirSync(dir);
    const configMap = (n: number, data: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-${n}\ndata:\n  x: "${data}"\n`;
    for (const n of [1, 2, 3, 4]) writeFileSync(join(dir, `cm-${n}.yaml`), configMap(n, 'a'.repeat(400_000)));
    const run = flotilla(['large', dir, '-n', WORKSPACE]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, new RegExp(`^${dir}: the manifests take 1,600,\\d{3} bytes on disk, over the limit of 1,310,720 bytes for all manifests of one Bundle .*; largest: cm-1\\.yaml`));
    assert.equal(await getBundle('large'), undefined);
    // 1,150,000 characters, under the limit; 1,350,000 bytes, over it: bytes are what etcd stores.
    for (const n of [1, 2, 3]) writeFileSync(join(dir, `cm-${n}.yaml`), configMap(n, 'a'.repeat(350_000)));
    writeFileSync(join(dir, 'cm-4.yaml'), configMap(4, '€'.repeat(100_000)));
    // As -f files they are read first and measured as stored.
    const multibyte = flotilla(['large', ...[1, 2, 3, 4].flatMap((n) => ['-f', join(dir, `cm-${n}.yaml`)]), '-n', WORKSPACE]);
    assert.equal(multibyte.code, 2, multibyte.stdout);
    assert.match(multibyte.stderr, /^.+cm-4\.yaml: the manifests take 1,350,\d{3} bytes as stored in the Bundle, over the limit of 1,310,720 bytes/);
    assert.equal(await getBundle('large'), undefined);
  });

  it('reads -f files and stdin without a directory, and warns that a Bundle without targets goes nowhere', async () => {
    const run = flotilla(['from-files', '-f', join(SAMPLE, 'app/configmap.yaml'), '-f', '-', '-n', WORKSPACE], {
      input: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: piped\n',
    });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'bundle.flotilla.dev/from-files created\n');
    assert.match(run.stderr, /^Warning: bundle\.flotilla\.dev\/from-files has no targets, so it is deployed to no Cluster; set targets in a flotilla\.yaml next to the manifests\.\n$/);
    assert.deepEqual(resourceNames(await getBundle('from-files')), ['configmap.yaml', 'stdin.yaml']);
  });

  it('names the fields it takes over from another field manager', async () => {
    const dir = copyOf(SAMPLE, 'contested');
    writeFileSync(join(dir, 'flotilla.yaml'), `${readFileSync(join(dir, 'flotilla.yaml'), 'utf8')}paused: false\n`);
    assert.equal(flotilla(['contested', dir, '-n', WORKSPACE]).code, 0);
    await kubectlOk(cp.adminKubeconfig, ['patch', 'bundle', 'contested', '-n', WORKSPACE, '--type=merge', '-p', '{"spec":{"paused":true}}']);
    const run = flotilla(['contested', dir, '-n', WORKSPACE]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'bundle.flotilla.dev/contested configured\n');
    assert.equal(
      run.stderr,
      'Warning: took over fields that other field managers owned (as kubectl apply --server-side --force-conflicts does): .spec.paused (from "kubectl-patch")\n',
    );
    assert.equal((await getBundle('contested'))?.spec.paused, false);
  });

  it('--context picks the cluster and, without -n, the namespace; a missing namespace is one sentence', async () => {
    const config = parseYaml(readFileSync(cp.adminKubeconfig, 'utf8')) as {
      contexts: Array<{ name: string; context: Record<string, string> }>;
      'current-context': string;
    };
    const admin = config.contexts[0] as { name: string; context: Record<string, string> };
    config.contexts.push({ name: 'workspace', context: { ...admin.context, namespace: WORKSPACE } });
    const path = join(work, 'contexts.kubeconfig');
    writeFileSync(path, stringifyYaml(config));
    const run = flotilla(['in-context', SAMPLE, '--kubeconfig', path, '--context', 'workspace'], { env: { KUBECONFIG: '' } });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'bundle.flotilla.dev/in-context created\n');
    assert.ok(await getBundle('in-context'));
    const noNamespace = flotilla(['in-context', SAMPLE, '--kubeconfig', path], { env: { KUBECONFIG: '' } });
    assert.equal(noNamespace.code, 2);
    assert.equal(noNamespace.stderr, '`flotilla apply` needs -n WORKSPACE, the workspace namespace of the Bundle (the kubeconfig context sets no namespace).\n');
    const unknownContext = flotilla(['x', SAMPLE, '--kubeconfig', path, '--context', 'nope']);
    assert.equal(unknownContext.code, 2);
    assert.match(unknownContext.stderr, /^Context "nope" \(--context\) is not in the kubeconfig .* \(--kubeconfig\); it has: .*, workspace\.\n$/);
    const absent = flotilla(['x', SAMPLE, '-n', 'no-such-workspace']);
    assert.equal(absent.code, 1);
    assert.match(absent.stderr, /^flotilla: the namespace no-such-workspace does not exist on https:\/\/\S+; create it as a workspace/);
  });
});

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { prepareBundle, type PrepareOptions } from '../../../src/apply/prepare.ts';
import { InputError } from '../../../src/apply/problems.ts';
import { sizeProblems } from '../../../src/apply/size-limit.ts';
import { configMap, makeTree } from './fixture.ts';

const base = { name: 'web', namespace: 'demo', env: { PATH: '' } } satisfies Partial<PrepareOptions>;

async function problemsOf(options: PrepareOptions): Promise<string[]> {
  try {
    await prepareBundle(options);
  } catch (error) {
    assert.ok(error instanceof InputError, String(error));
    return error.message.split('\n');
  }
  assert.fail('expected an InputError');
}

describe('prepareBundle', () => {
  it('builds the Bundle from DIR and flotilla.yaml: one resource per file, settings in spec and metadata', async (t) => {
    const tree = makeTree({
      'cm.yaml': configMap('a'),
      'app/multi.yaml': `${configMap('b')}---\n${configMap('c')}`,
      'empty.yaml': '# nothing yet\n',
      'flotilla.yaml': 'labels: {team: web}\ntargets: [{clusterGroup: prod}]\noptions: {defaultNamespace: web}\n',
    });
    t.after(tree.cleanup);
    const prepared = await prepareBundle({ ...base, dir: tree.dir });
    assert.equal(prepared.objects, 3);
    assert.equal(prepared.settingsFile, join(tree.dir, 'flotilla.yaml'));
    assert.deepEqual(prepared.bundle, {
      apiVersion: 'flotilla.dev/v1alpha1',
      kind: 'Bundle',
      metadata: { name: 'web', namespace: 'demo', labels: { team: 'web' } },
      spec: {
        resources: [
          { name: 'app/multi.yaml', content: `${configMap('b')}---\n${configMap('c')}` },
          { name: 'cm.yaml', content: configMap('a') },
        ],
        targets: [{ clusterGroup: 'prod' }],
        options: { defaultNamespace: 'web' },
      },
    });
  });

  it('adds -f files (and stdin) after the directory', async (t) => {
    const tree = makeTree({ 'dir/a.yaml': configMap('a'), 'extra/b.yaml': configMap('b') });
    t.after(tree.cleanup);
    const prepared = await prepareBundle({ ...base, dir: join(tree.dir, 'dir'), files: [join(tree.dir, 'extra/b.yaml'), '-'], readStdin: async () => configMap('s') });
    assert.deepEqual(prepared.bundle.spec.resources?.map((r) => r.name), ['a.yaml', 'b.yaml', 'stdin.yaml']);
    assert.equal(prepared.settingsFile, undefined);
  });

  it('names file and line of a YAML error, and file, document and line of a manifest without identity, all at once', async (t) => {
    const tree = makeTree({
      'broken.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\n',
      'sub/multi.yaml': `${configMap('ok')}---\n# the second document\nkind: Secret\nmetadata: {}\n`,
      'list.json': '{"apiVersion": "v1", "kind": "List", "items": []}',
      'flotilla.yaml': 'paused: maybe\n',
    });
    t.after(tree.cleanup);
    assert.deepEqual(await problemsOf({ ...base, dir: tree.dir }), [
      `${join(tree.dir, 'broken.yaml')}:5: document 1: invalid YAML: Map keys must be unique`,
      `${join(tree.dir, 'flotilla.yaml')}:1: paused must be true or false, got "maybe"`,
      `${join(tree.dir, 'list.json')}:1: document 1: is a List; list objects are not supported, put each item in its own document (separated by "---")`,
      `${join(tree.dir, 'sub/multi.yaml')}:5: document 2: apiVersion, metadata.name are missing or not a non-empty string`,
    ]);
  });

  it('refuses two files declaring the same object, naming both', async (t) => {
    // No namespace lands in "default": the same object as one naming it.
    const tree = makeTree({ 'a.yaml': configMap('same'), 'b.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: same\n  namespace: default\n` });
    t.after(tree.cleanup);
    const [problem] = await problemsOf({ ...base, dir: tree.dir });
    assert.equal(
      problem,
      `${join(tree.dir, 'b.yaml')}: resource "b.yaml", document 1 declares ConfigMap "default/same", already declared by resource "a.yaml", document 1; ` +
        'each object may be declared only once per Bundle (the two would overwrite each other on every apply)',
    );
  });

  it('refuses a directory over the total size limit from its files\' sizes, naming the size and the limit', async (t) => {
    // Four 400,000-byte manifests: each under the 1 MiB per-manifest limit, together over 1.25 MiB.
    const files = Object.fromEntries([1, 2, 3, 4].map((n) => [`cm-${n}.yaml`, configMap(`cm-${n}`, `data:\n  x: "${'a'.repeat(400_000)}"\n`)]));
    const tree = makeTree(files);
    t.after(tree.cleanup);
    const lines = await problemsOf({ ...base, dir: tree.dir });
    assert.equal(lines.length, 1);
    assert.match(
      lines[0] ?? '',
      new RegExp(
        `^${tree.dir}: the manifests take 1,600,\\d{3} bytes on disk, over the limit of 1,310,720 bytes for all manifests of one Bundle ` +
          `\\(etcd stores objects of at most 1\\.5 MiB, .*\\); largest: cm-1\\.yaml \\(400,\\d{3} bytes\\), cm-2\\.yaml .*; split it into several Bundles`,
      ),
    );
  });

  it('measures -f input as stored, after reading it', async (t) => {
    const files = Object.fromEntries([1, 2, 3, 4].map((n) => [`cm-${n}.yaml`, configMap(`cm-${n}`, `data:\n  x: "${'a'.repeat(400_000)}"\n`)]));
    const tree = makeTree(files);
    t.after(tree.cleanup);
    const paths = Object.keys(files).map((f) => join(tree.dir, f));
    const lines = await problemsOf({ ...base, files: paths });
    assert.equal(lines.length, 1);
    assert.match(lines[0] ?? '', new RegExp(`^${paths.join(', ')}: the manifests take 1,600,\\d{3} bytes as stored in the Bundle, over the limit of 1,310,720 bytes`));
  });

  it('counts JSON escaping in the stored size, as the controller does', () => {
    // 700,000 quotes: 700 KB of text, 1.4 MB once escaped in JSON.
    const problems = sizeProblems([{ name: 'q.yaml', file: 'd/q.yaml', content: '"'.repeat(700_000) }], 'd');
    assert.equal(problems.length, 1);
    assert.match(problems[0]?.message ?? '', /^the manifests take 1,400,0\d\d bytes as stored/);
  });

  it('refuses more files than a Bundle holds', () => {
    const sources = Array.from({ length: 513 }, (_, i) => ({ name: `cm-${i}.yaml`, file: `d/cm-${i}.yaml`, content: configMap(`cm-${i}`) }));
    assert.deepEqual(sizeProblems(sources, 'd').map((p) => `${p.file}: ${p.message}`), [
      'd: 513 manifest files, more than the 512 one Bundle holds; split it into several Bundles (one directory each), or keep large data (e.g. ConfigMap payloads) out of the manifests',
    ]);
  });

  it('refuses a directory without manifests', async (t) => {
    const tree = makeTree({ 'README.md': 'hello', 'flotilla.yaml': 'paused: true\n' });
    t.after(tree.cleanup);
    assert.deepEqual(await problemsOf({ ...base, dir: tree.dir }), [
      `${tree.dir}: holds no manifests (.yaml, .yml or .json files declaring Kubernetes objects); a Bundle needs at least one`,
    ]);
  });

  it('a kustomization without kubectl is one sentence saying how to fix it', async (t) => {
    const tree = makeTree({ 'kustomization.yaml': 'resources: [cm.yaml]\n', 'cm.yaml': configMap('a') });
    t.after(tree.cleanup);
    assert.deepEqual(await problemsOf({ ...base, dir: tree.dir, env: { PATH: '/nonexistent' } }), [
      `${join(tree.dir, 'kustomization.yaml')}: rendering a kustomization needs kubectl (kubectl kustomize), and there is no kubectl on PATH; install kubectl, or pass --kubectl PATH (or set FLOTILLA_KUBECTL)`,
    ]);
    const [missing] = await problemsOf({ ...base, dir: tree.dir, kubectl: '/nonexistent/kubectl' });
    assert.equal(missing, `${join(tree.dir, 'kustomization.yaml')}: rendering a kustomization needs kubectl, and /nonexistent/kubectl (from --kubectl) does not exist; point --kubectl (or FLOTILLA_KUBECTL) at a kubectl binary`);
  });
});

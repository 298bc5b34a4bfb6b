import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { duplicateNames, findKustomization, readManifestDirectory, readManifestFiles } from '../../../src/apply/sources.ts';
import { configMap, makeTree } from './fixture.ts';

const noStdin = () => Promise.reject(new Error('stdin not expected'));

describe('readManifestDirectory', () => {
  it('reads .yaml, .yml and .json files recursively in code-point order, named by their relative path', async (t) => {
    const tree = makeTree({
      'z.yaml': configMap('z'),
      'a.yml': configMap('a'),
      'B.json': '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"b"}}',
      'app/deploy.yaml': configMap('d'),
      'app/nested/svc.yaml': configMap('s'),
      'app-x.yaml': configMap('x'),
      'README.md': '# not a manifest',
      'script.sh': 'echo hi',
      'values.YAML': configMap('upper-case extension is not a manifest extension'),
      '.hidden.yaml': configMap('hidden'),
      '.git/config.yaml': configMap('in a hidden directory'),
      'flotilla.yaml': 'targets: []\n',
      'app/flotilla.yaml': configMap('only the top-level flotilla.yaml is settings'),
    });
    t.after(tree.cleanup);
    const { sources, problems } = await readManifestDirectory(tree.dir);
    assert.deepEqual(problems, []);
    assert.deepEqual(
      sources.map((s) => s.name),
      ['B.json', 'a.yml', 'app-x.yaml', 'app/deploy.yaml', 'app/flotilla.yaml', 'app/nested/svc.yaml', 'z.yaml'],
    );
    const deploy = sources.find((s) => s.name === 'app/deploy.yaml');
    assert.equal(deploy?.file, join(tree.dir, 'app/deploy.yaml'));
    assert.equal(deploy?.content, configMap('d'));
  });

  it('follows links to files but not to directories (no cycles)', async (t) => {
    const tree = makeTree({ 'real/cm.yaml': configMap('cm'), 'linked.yaml': { link: 'real/cm.yaml' }, 'loop': { link: '.' } });
    t.after(tree.cleanup);
    const { sources, problems } = await readManifestDirectory(tree.dir);
    assert.deepEqual(problems, []);
    assert.deepEqual(sources.map((s) => s.name), ['linked.yaml', 'real/cm.yaml']);
  });

  it('names each file that cannot be a resource name, and a kustomization in a subdirectory, and goes on reading', async (t) => {
    const tree = makeTree({
      'my file.yaml': configMap('a'),
      'ok.yaml': configMap('ok'),
      'base/kustomization.yaml': 'resources: []\n',
      'base/cm.yaml': configMap('base'),
    });
    t.after(tree.cleanup);
    const { sources, problems } = await readManifestDirectory(tree.dir);
    assert.deepEqual(sources.map((s) => s.name), ['ok.yaml']);
    assert.equal(problems.length, 2);
    const name = problems.find((p) => p.file === join(tree.dir, 'my file.yaml'));
    assert.match(name?.message ?? '', /^"my file\.yaml" cannot be a Bundle resource name: .*rename the file$/);
    const nested = problems.find((p) => p.file === join(tree.dir, 'base/kustomization.yaml'));
    assert.match(nested?.message ?? '', /a kustomization in a subdirectory .*pass .*base as DIR/);
  });

  it('refuses a file over the per-manifest limit without reading it', async (t) => {
    const tree = makeTree({ 'big.yaml': configMap('big', `data:\n  x: "${'a'.repeat(1024 * 1024)}"\n`) });
    t.after(tree.cleanup);
    const { sources, problems } = await readManifestDirectory(tree.dir);
    assert.deepEqual(sources, []);
    assert.equal(problems.length, 1);
    assert.match(problems[0]?.message ?? '', /^takes 1,048,6\d\d bytes, over the limit of 1,048,576 bytes per manifest/);
  });

  it('reports a directory it cannot read', async () => {
    const { problems } = await readManifestDirectory('/nonexistent/flotilla-apply');
    assert.deepEqual(problems, [{ file: '/nonexistent/flotilla-apply', message: 'cannot read the directory: no such file or directory' }]);
  });
});

describe('findKustomization', () => {
  it('finds kustomization.yaml, kustomization.yml or Kustomization at the top only', async (t) => {
    const tree = makeTree({ 'a/kustomization.yml': '', 'b/Kustomization': '', 'c/sub/kustomization.yaml': '' });
    t.after(tree.cleanup);
    assert.equal(await findKustomization(join(tree.dir, 'a')), join(tree.dir, 'a/kustomization.yml'));
    assert.equal(await findKustomization(join(tree.dir, 'b')), join(tree.dir, 'b/Kustomization'));
    assert.equal(await findKustomization(join(tree.dir, 'c')), undefined);
  });
});

describe('readManifestFiles (-f)', () => {
  it('reads files in the order given, named by base name; - is stdin', async (t) => {
    const tree = makeTree({ 'x/one.yaml': configMap('one'), 'two.json': '{}' });
    t.after(tree.cleanup);
    const { sources, problems } = await readManifestFiles([join(tree.dir, 'two.json'), '-', join(tree.dir, 'x/one.yaml')], async () => configMap('in'));
    assert.deepEqual(problems, []);
    assert.deepEqual(sources.map((s) => [s.name, s.file]), [
      ['two.json', join(tree.dir, 'two.json')],
      ['stdin.yaml', '<stdin>'],
      ['one.yaml', join(tree.dir, 'x/one.yaml')],
    ]);
    assert.equal(sources[1]?.content, configMap('in'));
  });

  it('refuses directories and missing files, naming them', async (t) => {
    const tree = makeTree({});
    t.after(tree.cleanup);
    mkdirSync(join(tree.dir, 'd'));
    const { problems } = await readManifestFiles([join(tree.dir, 'd'), join(tree.dir, 'missing.yaml')], noStdin);
    assert.deepEqual(problems, [
      { file: join(tree.dir, 'd'), message: 'is a directory; pass it as DIR (flotilla apply NAME DIR), -f takes files' },
      { file: join(tree.dir, 'missing.yaml'), message: 'cannot read it (-f): no such file or directory' },
    ]);
  });
});

describe('duplicateNames', () => {
  it('names both files that would share a resource name', () => {
    const problems = duplicateNames([
      { name: 'cm.yaml', file: 'dir/cm.yaml', content: '' },
      { name: 'cm.yaml', file: 'other/cm.yaml', content: '' },
      { name: 'x.yaml', file: 'x.yaml', content: '' },
    ]);
    assert.deepEqual(problems, [
      { file: 'other/cm.yaml', message: 'would be resource "cm.yaml" of the Bundle, as dir/cm.yaml already is; resource names must be unique (rename one of the files)' },
    ]);
  });
});

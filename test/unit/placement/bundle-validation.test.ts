import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { BundleTarget } from '../../../src/api/bundle.ts';
import type { BundleResource } from '../../../src/api/bundle-resource.ts';
import {
  encodedResourcesSize,
  MAX_MANIFEST_BYTES,
  MAX_RESOURCES_ENCODED_BYTES,
  validateBundle,
  validateBundleResources,
  validateBundleTargets,
} from '../../../src/placement/bundle-validation.ts';
import { formatProblems, isTargetProblem } from '../../../src/placement/problems.ts';
import { bundle } from './fixtures.ts';

const manifest = (kind: string, name: string, opts: { apiVersion?: string; namespace?: string } = {}) =>
  `apiVersion: ${opts.apiVersion ?? 'v1'}\nkind: ${kind}\nmetadata:\n  name: ${name}\n${opts.namespace ? `  namespace: ${opts.namespace}\n` : ''}`;

const res = (name: string, content: string): BundleResource => ({ name, content });

const reasons = (problems: readonly { reason: string; field: string }[]) => problems.map((p) => [p.reason, p.field]);

describe('validateBundleResources', () => {
  it('accepts valid YAML and JSON resources', () => {
    const problems = validateBundleResources([
      res('cm.yaml', `${manifest('ConfigMap', 'a')}---\n${manifest('ConfigMap', 'b')}`),
      res('deploy.json', JSON.stringify({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' } })),
      res('app/svc.yaml', manifest('Service', 'web')),
    ]);
    assert.deepEqual(problems, []);
  });

  it('accepts absent resources', () => {
    assert.deepEqual(validateBundleResources(undefined), []);
    assert.deepEqual(validateBundleResources(null), []);
  });

  it('reports parse errors per document with the resource and position', () => {
    const problems = validateBundleResources([res('ok.yaml', manifest('ConfigMap', 'a')), res('bad.yaml', `${manifest('ConfigMap', 'b')}---\nfoo: [\n`)]);
    assert.deepEqual(reasons(problems), [['InvalidResources', 'spec.resources[1].content']]);
    assert.match(problems[0]!.message, /^spec\.resources\[1\]\.content: resource "bad\.yaml", document 2 \(line \d+\): invalid YAML: /);
  });

  it('reports documents that are not objects or lack identity', () => {
    const problems = validateBundleResources([res('x.yaml', 'kind: ConfigMap\nmetadata:\n  name: a\n')]);
    assert.deepEqual(reasons(problems), [['InvalidResources', 'spec.resources[0].content']]);
    assert.match(problems[0]!.message, /document 1 \(line 1\): apiVersion is missing/);
  });

  it('reports a resource with no object in it', () => {
    const problems = validateBundleResources([res('empty.yaml', '# TODO\n')]);
    assert.deepEqual(reasons(problems), [['InvalidResources', 'spec.resources[0].content']]);
    assert.match(problems[0]!.message, /contains no Kubernetes object/);
  });

  it('reports duplicate resource names', () => {
    const problems = validateBundleResources([
      res('a.yaml', manifest('ConfigMap', 'a')),
      res('b.yaml', manifest('ConfigMap', 'b')),
      res('a.yaml', manifest('ConfigMap', 'c')),
    ]);
    assert.deepEqual(reasons(problems), [['DuplicateResourceName', 'spec.resources[2].name']]);
    assert.match(problems[0]!.message, /Duplicate value: "a\.yaml": already used by spec\.resources\[0\]/);
  });

  it('reports malformed items and names', () => {
    const problems = validateBundleResources([
      { content: manifest('ConfigMap', 'a') },
      { name: '../etc/passwd', content: manifest('ConfigMap', 'b') },
      { name: 'c.yaml' },
      'not an object',
    ]);
    assert.deepEqual(reasons(problems), [
      ['InvalidResources', 'spec.resources[0].name'],
      ['InvalidResources', 'spec.resources[1].name'],
      ['InvalidResources', 'spec.resources[2].content'],
      ['InvalidResources', 'spec.resources[3]'],
    ]);
    assert.deepEqual(reasons(validateBundleResources('x')), [['InvalidResources', 'spec.resources']]);
  });

  describe('collisions', () => {
    const cases: { name: string; docs: [string, string][]; defaultNamespace?: string; collide: boolean }[] = [
      {
        name: 'same kind, namespace and name in two resources',
        docs: [['a.yaml', manifest('ConfigMap', 'x', { namespace: 'n' })], ['b.yaml', manifest('ConfigMap', 'x', { namespace: 'n' })]],
        collide: true,
      },
      {
        name: 'same object twice in one resource',
        docs: [['a.yaml', `${manifest('ConfigMap', 'x')}---\n${manifest('ConfigMap', 'x')}`]],
        collide: true,
      },
      {
        name: 'same group, other version (one object served under both)',
        docs: [['a.yaml', manifest('Deployment', 'web', { apiVersion: 'apps/v1' })], ['b.yaml', manifest('Deployment', 'web', { apiVersion: 'apps/v1beta2' })]],
        collide: true,
      },
      {
        name: 'no namespace vs explicit default namespace',
        docs: [['a.yaml', manifest('ConfigMap', 'x')], ['b.yaml', manifest('ConfigMap', 'x', { namespace: 'default' })]],
        collide: true,
      },
      {
        name: 'no namespace vs the Bundle\'s defaultNamespace',
        docs: [['a.yaml', manifest('ConfigMap', 'x')], ['b.yaml', manifest('ConfigMap', 'x', { namespace: 'apps' })]],
        defaultNamespace: 'apps',
        collide: true,
      },
      {
        name: 'same name, other namespace',
        docs: [['a.yaml', manifest('ConfigMap', 'x', { namespace: 'n1' })], ['b.yaml', manifest('ConfigMap', 'x', { namespace: 'n2' })]],
        collide: false,
      },
      {
        name: 'same name, other kind',
        docs: [['a.yaml', manifest('ConfigMap', 'x')], ['b.yaml', manifest('Secret', 'x')]],
        collide: false,
      },
      {
        name: 'same kind name, other group',
        docs: [['a.yaml', manifest('Ingress', 'x', { apiVersion: 'networking.k8s.io/v1' })], ['b.yaml', manifest('Ingress', 'x', { apiVersion: 'example.com/v1' })]],
        collide: false,
      },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const problems = validateBundleResources(
          c.docs.map(([name, content]) => res(name, content)),
          { defaultNamespace: c.defaultNamespace },
        );
        assert.deepEqual(problems.map((p) => p.reason), c.collide ? ['ResourceNameCollision'] : []);
      });
    }

    it('says which object and where it was declared first', () => {
      const [problem] = validateBundleResources([
        res('a.yaml', manifest('Deployment', 'web', { apiVersion: 'apps/v1', namespace: 'n' })),
        res('b.yaml', `${manifest('ConfigMap', 'other')}---\n${manifest('Deployment', 'web', { apiVersion: 'apps/v1', namespace: 'n' })}`),
      ]);
      assert.equal(problem?.field, 'spec.resources[1].content');
      assert.match(
        problem?.message ?? '',
        /resource "b\.yaml", document 2 declares Deployment\.apps "n\/web", already declared by resource "a\.yaml", document 1/,
      );
    });
  });

  describe('size', () => {
    it('measures the stored (JSON, UTF-8) size, not the character count', () => {
      const resources = [res('a.yaml', 'é"\n')];
      // [{"name":"a.yaml","content":"é\"\n"}]: é is 2 bytes, quote and newline are escaped.
      assert.equal(encodedResourcesSize(resources), Buffer.byteLength(JSON.stringify(resources)));
      assert.equal(encodedResourcesSize(resources), 38);
    });

    it('accepts a Bundle just under the bound and rejects one just over', () => {
      // Two manifests, each under the per-manifest limit, together at the total one.
      const other = res('other.yaml', `${manifest('ConfigMap', 'other')}data:\n  blob: ${'y'.repeat(400_000)}\n`);
      const header = manifest('ConfigMap', 'big') + 'data:\n  blob: ';
      const base = encodedResourcesSize([other, res('big.yaml', header)]);
      const fill = (bytes: number) => [other, res('big.yaml', header + 'x'.repeat(bytes - base))];
      const under = fill(MAX_RESOURCES_ENCODED_BYTES);
      assert.equal(encodedResourcesSize(under), MAX_RESOURCES_ENCODED_BYTES);
      assert.deepEqual(validateBundleResources(under), []);
      const over = fill(MAX_RESOURCES_ENCODED_BYTES + 1);
      const problems = validateBundleResources(over);
      assert.deepEqual(reasons(problems), [['BundleTooLarge', 'spec.resources']]);
      assert.match(problems[0]!.message, /1,310,721 bytes as stored, over the limit of 1,310,720 bytes .* largest: "big\.yaml"/);
    });

    it('counts escaping: text under the character budget can be over the byte budget', () => {
      const quotes = '"'.repeat(Math.ceil(MAX_RESOURCES_ENCODED_BYTES / 2) + 10);
      const content = `${manifest('ConfigMap', 'q')}data:\n  q: '${quotes}'\n`;
      assert.ok(content.length < MAX_RESOURCES_ENCODED_BYTES);
      assert.deepEqual(validateBundleResources([res('q.yaml', content)]).map((p) => p.reason), ['BundleTooLarge']);
    });

    it('holds each manifest to its limit in UTF-8 bytes, whatever the characters', () => {
      const header = `${manifest('ConfigMap', 'euro')}data:\n  blob: `;
      const filled = (bytes: number) => header + '€'.repeat((bytes - Buffer.byteLength(header)) / 3);
      const atLimit = filled(MAX_MANIFEST_BYTES - ((MAX_MANIFEST_BYTES - Buffer.byteLength(header)) % 3));
      assert.ok(Buffer.byteLength(atLimit) <= MAX_MANIFEST_BYTES && Buffer.byteLength(atLimit) > MAX_MANIFEST_BYTES - 3);
      assert.deepEqual(validateBundleResources([res('euro.yaml', atLimit)]), []);

      const over = `${atLimit}€€`;
      assert.ok(over.length < MAX_MANIFEST_BYTES / 2, 'well under the limit in characters');
      const problems = validateBundleResources([res('ok.yaml', manifest('ConfigMap', 'ok')), res('euro.yaml', over)]);
      assert.deepEqual(reasons(problems), [['BundleTooLarge', 'spec.resources[1].content']]);
      assert.match(problems[0]!.message, new RegExp(`resource "euro\\.yaml" takes ${Buffer.byteLength(over).toLocaleString('en-US')} bytes \\(UTF-8\\), over the limit of 1,048,576 bytes per manifest`));
    });

    it('honours a custom bound', () => {
      assert.deepEqual(
        validateBundleResources([res('a.yaml', manifest('ConfigMap', 'a'))], { maxEncodedBytes: 10 }).map((p) => p.reason),
        ['BundleTooLarge'],
      );
    });
  });
});

describe('validateBundleTargets', () => {
  it('reports every malformed target with its field path', () => {
    const problems = validateBundleTargets([
      { clusterSelector: {} },
      {},
      { clusterSelector: { matchExpressions: [{ key: 'env', operator: 'Near', values: ['x'] }] } },
      { clusterGroupSelector: { matchLabels: { env: 'not a valid value!' } } },
      { clusterName: 'Not_A_Name' },
      { clusterGroup: 'UPPER' },
      { clusterSelector: {}, doNotDeploy: 'yes' },
    ]);
    assert.deepEqual(reasons(problems), [
      ['InvalidTarget', 'spec.targets[1]'],
      ['InvalidTarget', 'spec.targets[2].clusterSelector.matchExpressions[0].operator'],
      ['InvalidTarget', 'spec.targets[3].clusterGroupSelector.matchLabels[env]'],
      ['InvalidTarget', 'spec.targets[4].clusterName'],
      ['InvalidTarget', 'spec.targets[5].clusterGroup'],
      ['InvalidTarget', 'spec.targets[6].doNotDeploy'],
    ]);
    for (const p of problems) assert.ok(p.message.startsWith(p.field), p.message);
    assert.match(problems[1]!.message, /Unsupported value: "Near": supported values: "In", "NotIn", "Exists", "DoesNotExist"/);
    assert.ok(problems.every(isTargetProblem));
  });

  it('reports a non-list', () => {
    assert.deepEqual(reasons(validateBundleTargets({})), [['InvalidTarget', 'spec.targets']]);
  });
});

describe('validateBundle', () => {
  it('combines resource and target problems, resources first', () => {
    const b = bundle([{} as BundleTarget], { resources: [res('a.yaml', 'nope: [')] });
    const problems = validateBundle(b);
    assert.deepEqual(problems.map((p) => p.reason), ['InvalidResources', 'InvalidTarget']);
    assert.equal(isTargetProblem(problems[0]!), false);
  });

  it('uses the Bundle\'s defaultNamespace for collisions', () => {
    const b = bundle([{ clusterSelector: {} }], {
      resources: [res('a.yaml', manifest('ConfigMap', 'x')), res('b.yaml', manifest('ConfigMap', 'x', { namespace: 'apps' }))],
      options: { defaultNamespace: 'apps' },
    });
    assert.deepEqual(validateBundle(b).map((p) => p.reason), ['ResourceNameCollision']);
  });
});

describe('formatProblems', () => {
  const problem = (i: number) => ({ reason: 'InvalidTarget' as const, field: `spec.targets[${i}]`, message: `spec.targets[${i}]: problem number ${i}` });

  it('joins messages', () => {
    assert.equal(formatProblems([problem(0), problem(1)]), 'spec.targets[0]: problem number 0; spec.targets[1]: problem number 1');
  });

  it('cuts on a problem boundary and says how many were left out', () => {
    const many = Array.from({ length: 100 }, (_, i) => problem(i));
    const text = formatProblems(many, 200);
    assert.ok(text.length <= 200, `${text.length}`);
    const kept = text.split('; ').length;
    assert.match(text, new RegExp(`\\(and ${100 - kept} more\\)$`));
  });

  it('truncates a single huge message', () => {
    const huge = { ...problem(0), message: 'x'.repeat(1000) };
    const text = formatProblems([huge, problem(1)], 100);
    assert.equal(text.length, 100);
    assert.match(text, /… \(and 1 more\)$/);
  });
});

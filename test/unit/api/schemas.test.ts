import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Type from 'typebox';
import { Value } from 'typebox/value';
import { API_VERSION, Limits } from '../../../src/api/constants.ts';
import { KindSchema } from '../../../src/api/kinds.ts';
import { SchemaConversionError, toStructuralSchema } from '../../../src/api/structural.ts';
import {
  DNS1123_LABEL_PATTERN,
  LABEL_KEY_PATTERN,
  LABEL_VALUE_PATTERN,
  RESOURCE_NAME_PATTERN,
  celString,
} from '../../../src/api/patterns.ts';

const contentName = `s-${'a'.repeat(64)}`;

const valid = {
  Cluster: { apiVersion: API_VERSION, kind: 'Cluster', metadata: { name: 'c1', namespace: 'ws' } },
  ClusterGroup: {
    apiVersion: API_VERSION,
    kind: 'ClusterGroup',
    metadata: { name: 'g', namespace: 'ws' },
    spec: { selector: {} },
  },
  Bundle: {
    apiVersion: API_VERSION,
    kind: 'Bundle',
    metadata: { name: 'b', namespace: 'ws' },
    spec: { targets: [{ clusterSelector: { matchExpressions: [{ key: 'env', operator: 'Exists' }] } }] },
  },
  BundleDeployment: {
    apiVersion: API_VERSION,
    kind: 'BundleDeployment',
    metadata: { name: 'b', namespace: 'cluster-ns' },
    spec: { contentName, deploymentID: `${contentName}:0123abcd` },
  },
  Content: {
    apiVersion: API_VERSION,
    kind: 'Content',
    metadata: { name: contentName },
    spec: { sha256: 'a'.repeat(64), resources: [{ name: 'a.yaml', content: '{}' }] },
  },
} as const;

describe('TypeBox schemas', () => {
  it('accept a minimal object of each kind', () => {
    for (const [kind, object] of Object.entries(valid)) {
      assert.ok(Value.Check(KindSchema[kind as keyof typeof valid], object), kind);
    }
  });

  const invalid: Array<[string, keyof typeof valid, (o: any) => void]> = [
    ['Bundle name over 63 characters', 'Bundle', (o) => { o.metadata.name = 'b'.repeat(64); }],
    ['Cluster name with upper case', 'Cluster', (o) => { o.metadata.name = 'Prod'; }],
    ['unknown selector operator', 'Bundle', (o) => { o.spec.targets[0].clusterSelector.matchExpressions[0].operator = 'Matches'; }],
    ['bad label key in matchLabels', 'ClusterGroup', (o) => { o.spec.selector = { matchLabels: { 'bad key': 'x' } }; }],
    ['label value over 63 characters', 'ClusterGroup', (o) => { o.spec.selector = { matchLabels: { env: 'v'.repeat(64) } }; }],
    ['ClusterGroup without selector', 'ClusterGroup', (o) => { delete o.spec.selector; }],
    ['BundleDeployment without contentName', 'BundleDeployment', (o) => { delete o.spec.contentName; }],
    ['bad deploymentID', 'BundleDeployment', (o) => { o.spec.deploymentID = 'v1'; }],
    ['too many resources', 'Content', (o) => {
      o.spec.resources = Array.from({ length: Limits.resourcesMaxItems + 1 }, (_, i) => ({ name: `r${i}`, content: '' }));
    }],
    ['resource name with ..', 'Content', (o) => { o.spec.resources[0].name = '../etc/passwd'; }],
    ['negative summary count', 'Bundle', (o) => {
      o.status = { summary: { desiredReady: -1, ready: 0, notReady: 0, pending: 0, modified: 0, errApplied: 0, waitApplied: 0, outOfSync: 0 } };
    }],
    ['nonReadyClusters over 10', 'Bundle', (o) => {
      o.status = { summary: {
        desiredReady: 0, ready: 0, notReady: 0, pending: 0, modified: 0, errApplied: 0, waitApplied: 0, outOfSync: 0,
        nonReadyClusters: Array.from({ length: 11 }, (_, i) => `c${i}`),
      } };
    }],
    ['wrong type for paused', 'Bundle', (o) => { o.spec.paused = 'yes'; }],
    ['wrong apiVersion', 'Cluster', (o) => { o.apiVersion = 'flotilla.dev/v1'; }],
  ];
  for (const [title, kind, mutate] of invalid) {
    it(`reject: ${title}`, () => {
      const object = structuredClone(valid[kind]) as any;
      mutate(object);
      assert.equal(Value.Check(KindSchema[kind], object), false);
    });
  }
});

describe('patterns', () => {
  const cases: Array<[string, string, boolean]> = [
    [LABEL_KEY_PATTERN, 'env', true],
    [LABEL_KEY_PATTERN, 'flotilla.dev/bundle-name', true],
    [LABEL_KEY_PATTERN, 'a'.repeat(63), true],
    [LABEL_KEY_PATTERN, 'a'.repeat(64), false],
    [LABEL_KEY_PATTERN, 'Example.com/x', false],
    [LABEL_KEY_PATTERN, '/x', false],
    [LABEL_KEY_PATTERN, 'x/', false],
    [LABEL_VALUE_PATTERN, '', true],
    [LABEL_VALUE_PATTERN, 'A_b.c-1', true],
    [LABEL_VALUE_PATTERN, '-a', false],
    [DNS1123_LABEL_PATTERN, 'prod-eu-1', true],
    [DNS1123_LABEL_PATTERN, 'prod_eu', false],
    [RESOURCE_NAME_PATTERN, 'app/service.yaml', true],
    [RESOURCE_NAME_PATTERN, '/abs.yaml', false],
    [RESOURCE_NAME_PATTERN, 'a//b', false],
  ];
  for (const [pattern, input, expected] of cases) {
    it(`${JSON.stringify(input)} ${expected ? 'matches' : 'does not match'} ${pattern.slice(0, 30)}…`, () => {
      assert.equal(new RegExp(pattern).test(input), expected);
    });
  }

  it('celString escapes backslashes and quotes', () => {
    assert.equal(celString("a\\.b'c"), "'a\\\\.b\\'c'");
  });
});

describe('toStructuralSchema', () => {
  it('turns a TypeBox Record into additionalProperties and drops additionalProperties: false', () => {
    const schema = Type.Object({
      apiVersion: Type.String(),
      kind: Type.String(),
      metadata: Type.Object({ name: Type.String() }),
      spec: Type.Object({ m: Type.Record(Type.String({ pattern: '^a$' }), Type.Integer(), { additionalProperties: false }) }),
    });
    const out = toStructuralSchema(schema);
    assert.deepEqual(out.properties?.['metadata'], { type: 'object' });
    assert.deepEqual(out.properties?.['spec']?.properties?.['m'], { type: 'object', additionalProperties: { type: 'integer' } });
  });

  const rejected: Array<[string, unknown, RegExp]> = [
    ['a union', Type.Object({ spec: Type.Union([Type.String(), Type.Integer()]) }), /spec: unsupported schema keyword "anyOf"/],
    ['an untyped node', Type.Object({ spec: Type.Object({ x: Type.Unknown() }) }), /spec\.x: every node needs a single "type"/],
    ['an empty object', Type.Object({ spec: Type.Object({}) }), /spec: object without properties/],
    ['a literal', Type.Object({ spec: Type.Object({ x: Type.Literal('a') }) }), /spec\.x: unsupported schema keyword "const"/],
  ];
  for (const [title, schema, message] of rejected) {
    it(`rejects ${title}, naming the path`, () => {
      assert.throws(() => toStructuralSchema(schema), (error: unknown) =>
        error instanceof SchemaConversionError && message.test(error.message));
    });
  }
});

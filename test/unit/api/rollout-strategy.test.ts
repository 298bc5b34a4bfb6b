import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Value } from 'typebox/value';
import { API_VERSION } from '../../../src/api/constants.ts';
import { buildCrds } from '../../../src/api/crds.ts';
import { KindSchema } from '../../../src/api/kinds.ts';

const bundle = (maxUnavailable: unknown) => ({
  apiVersion: API_VERSION,
  kind: 'Bundle',
  metadata: { name: 'b', namespace: 'ws' },
  spec: { rolloutStrategy: { maxUnavailable } },
});

describe('Bundle spec.rolloutStrategy.maxUnavailable', () => {
  it('takes a count or a percentage, nothing else', () => {
    for (const ok of [0, 1, 25, '0%', '25%', '100%']) assert.ok(Value.Check(KindSchema.Bundle, bundle(ok)), JSON.stringify(ok));
    for (const bad of ['abc', '25', '101%', '-1%', -1, 1.5, true]) assert.ok(!Value.Check(KindSchema.Bundle, bundle(bad)), JSON.stringify(bad));
  });

  it('is int-or-string in the CRD, held by a CEL rule (no anyOf, which a structural schema would need typed)', () => {
    const crd = buildCrds().find((c) => c.spec.names.kind === 'Bundle')!;
    const field = crd.spec.versions[0]!.schema.openAPIV3Schema.properties!.spec!.properties!.rolloutStrategy!.properties!.maxUnavailable!;
    assert.equal(field['x-kubernetes-int-or-string'], true);
    assert.equal(field.type, undefined);
    assert.equal((field as Record<string, unknown>).anyOf, undefined);
    assert.match(field['x-kubernetes-validations']?.[0]?.rule ?? '', /^type\(self\) == int \? self >= 0 : self\.matches\('\^\(100\|\[1-9\]\?\[0-9\]\)%\$'\)$/);
  });

  it('Cluster shows AgentConnected as the Agent printer column', () => {
    const crd = buildCrds().find((c) => c.spec.names.kind === 'Cluster')!;
    const agent = crd.spec.versions[0]!.additionalPrinterColumns.find((c) => c.name === 'Agent');
    assert.equal(agent?.jsonPath, '.status.conditions[?(@.type=="AgentConnected")].status');
  });
});

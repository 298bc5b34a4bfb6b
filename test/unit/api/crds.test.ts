import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { CATEGORY, GROUP, Kind, Limits, Plural, VERSION } from '../../../src/api/constants.ts';
import { RESOURCE_SIZE_POLICY_FILE } from '../../../src/api/crds.ts';
import { buildResourceSizePolicy } from '../../../src/api/resource-size-policy.ts';
import { buildCrds, renderCrdFiles } from '../../../scripts/generate-crds.ts';
import type { CustomResourceDefinition } from '../../../src/api/crds.ts';
import type { StructuralSchema } from '../../../src/api/structural.ts';
import { structuralViolations } from './structural-checker.ts';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Short names of built-in resources (kubectl api-resources), which a CRD must not shadow. */
const BUILT_IN_SHORT_NAMES = new Set([
  'cm', 'cs', 'csr', 'ds', 'deploy', 'ep', 'eps', 'ev', 'hpa', 'ing', 'limits', 'netpol', 'no', 'ns',
  'pc', 'pdb', 'po', 'psp', 'pv', 'pvc', 'quota', 'rc', 'rs', 'sa', 'sc', 'sts', 'svc', 'crd', 'crds',
  'cj', 'vac', 'ipa',
]);

describe('generated CRDs', () => {
  it('committed files under config/crd equal what the generator writes', async () => {
    const files = renderCrdFiles();
    assert.equal(files.length, Object.keys(Kind).length + 2, 'one per CRD, the admission policy, the kustomization');
    for (const file of files) {
      const committed = await readFile(join(REPO_ROOT, file.path), 'utf8').catch(() => '<missing>');
      assert.equal(committed, file.text, `${file.path} is stale: run node scripts/generate-crds.ts`);
    }
  });

  it('the committed YAML parses back to buildCrds() and the kustomization lists every CRD and the size policy', async () => {
    const crds = buildCrds();
    for (const crd of crds) {
      const path = join(REPO_ROOT, 'config/crd/bases', `${GROUP}_${crd.spec.names.plural}.yaml`);
      assert.deepEqual(parse(await readFile(path, 'utf8')), crd);
    }
    const policyText = await readFile(join(REPO_ROOT, 'config/crd', RESOURCE_SIZE_POLICY_FILE), 'utf8');
    assert.deepEqual(parseAllDocuments(policyText).map((d) => d.toJS()), buildResourceSizePolicy());
    const kustomization = parse(await readFile(join(REPO_ROOT, 'config/crd/kustomization.yaml'), 'utf8'));
    assert.deepEqual(
      [...kustomization.resources].sort(),
      [...crds.map((crd) => `bases/${GROUP}_${crd.spec.names.plural}.yaml`), RESOURCE_SIZE_POLICY_FILE].sort(),
    );
  });

  it('the size policy holds the manifest limits of Limits, in bytes, for Bundles and Contents, and only where resources change', () => {
    const [policy, binding] = buildResourceSizePolicy();
    assert.equal(binding.spec.policyName, policy.metadata.name);
    assert.deepEqual(binding.spec.validationActions, ['Deny']);
    assert.equal(policy.spec.failurePolicy, 'Fail');
    assert.deepEqual(policy.spec.matchConstraints.resourceRules.flatMap((r) => r.resources).sort(), [Plural.Bundle, Plural.Content].sort());
    const expressions = policy.spec.validations.map((v) => v.expression);
    assert.ok(policy.spec.variables.some((v) => v.expression.includes('size(bytes(r.content))')), 'measures bytes');
    assert.ok(expressions.some((e) => e.endsWith(`<= ${Limits.resourceContentMaxLength})`)), 'per manifest');
    assert.ok(expressions.some((e) => e.endsWith(`<= ${Limits.resourcesMaxTotalSize}`)), 'all manifests');
    assert.match(policy.spec.matchConditions[0]!.expression, /oldObject\.spec\.resources != object\.spec\.resources/, 'ratchets');
  });

  it('defines the five kinds with group, version, scope, status subresource and category', () => {
    const crds = buildCrds();
    assert.deepEqual(
      crds.map((crd) => crd.spec.names.kind).sort(),
      Object.values(Kind).sort(),
    );
    for (const crd of crds) {
      const kind = crd.spec.names.kind as Kind;
      assert.equal(crd.metadata.name, `${Plural[kind]}.${GROUP}`);
      assert.equal(crd.spec.scope, kind === Kind.Content ? 'Cluster' : 'Namespaced');
      assert.deepEqual(crd.spec.names.categories, [CATEGORY]);
      assert.equal(crd.spec.versions.length, 1);
      const version = crd.spec.versions[0]!;
      assert.equal(version.name, VERSION);
      assert.ok(version.served && version.storage);
      assert.deepEqual(version.subresources, { status: {} });
    }
  });

  it('every schema is structural', () => {
    for (const crd of buildCrds()) {
      const schema = crd.spec.versions[0]!.schema.openAPIV3Schema;
      assert.deepEqual(structuralViolations(schema), [], crd.metadata.name);
    }
  });

  it('keeps no TypeBox-only keywords and no preserve-unknown-fields', () => {
    const text = JSON.stringify(buildCrds());
    for (const keyword of ['~kind', '~optional', 'patternProperties', 'anyOf', '"const"', 'x-kubernetes-preserve-unknown-fields']) {
      assert.ok(!text.includes(keyword), `generated CRDs contain ${keyword}`);
    }
  });

  it('short names are unique and do not shadow built-in resources', () => {
    const shortNames = buildCrds().flatMap((crd) => crd.spec.names.shortNames);
    assert.equal(new Set(shortNames).size, shortNames.length);
    for (const name of shortNames) assert.ok(!BUILT_IN_SHORT_NAMES.has(name), name);
  });

  it('every printer column points at a field of its type, and each kind has Age', () => {
    for (const crd of buildCrds()) {
      const version = crd.spec.versions[0]!;
      const columns = version.additionalPrinterColumns;
      assert.ok(columns.some((c) => c.name === 'Age' && c.jsonPath === '.metadata.creationTimestamp'));
      for (const column of columns) {
        if (column.jsonPath.startsWith('.metadata.')) continue;
        const node = schemaAt(version.schema.openAPIV3Schema, column.jsonPath);
        assert.ok(node, `${crd.metadata.name}: ${column.jsonPath} is not in the schema`);
        assert.equal(node.type, column.type === 'date' ? 'string' : column.type, `${crd.metadata.name} ${column.name}`);
      }
    }
  });

  it('kubectl get bundles shows Ready and Status from status.display, and Paused from the spec', () => {
    const bundle = crdFor(Kind.Bundle);
    const columns = bundle.spec.versions[0]!.additionalPrinterColumns;
    assert.deepEqual(
      columns.filter((c) => (c.priority ?? 0) === 0).map((c) => [c.name, c.jsonPath]),
      [
        ['Ready', '.status.display.readyClusters'],
        ['Status', '.status.display.status'],
        ['Paused', '.spec.paused'],
        ['Age', '.metadata.creationTimestamp'],
      ],
    );
  });

  it('shows long IDs and names only with -o wide (priority 1)', () => {
    const wideOnly = (kind: Kind) => crdFor(kind).spec.versions[0]!.additionalPrinterColumns.filter((c) => c.priority === 1).map((c) => c.name);
    assert.deepEqual(wideOnly(Kind.BundleDeployment), ['Deployment-ID', 'Applied']);
    assert.deepEqual(wideOnly(Kind.Bundle), ['Rollout', 'Content']);
    assert.deepEqual(wideOnly(Kind.Cluster), ['Deployment-Namespace']);
    // Every default column of every kind reads a value of bounded, short width.
    for (const crd of buildCrds()) {
      for (const c of crd.spec.versions[0]!.additionalPrinterColumns) {
        if ((c.priority ?? 0) === 0) assert.ok(!/deploymentID|contentName|\.status\.namespace/i.test(c.jsonPath), `${crd.metadata.name} ${c.name}`);
      }
    }
  });

  it('kubectl get clustergroups and clusters read STATUS from status.display.status', () => {
    for (const kind of [Kind.ClusterGroup, Kind.Cluster]) {
      const status = crdFor(kind).spec.versions[0]!.additionalPrinterColumns.find((c) => c.name === 'Status');
      assert.equal(status?.jsonPath, '.status.display.status', kind);
    }
  });

  it('checks Bundle and Cluster names with a root CEL rule on metadata.name', () => {
    for (const kind of [Kind.Bundle, Kind.Cluster]) {
      const root = crdFor(kind).spec.versions[0]!.schema.openAPIV3Schema;
      const rules = root['x-kubernetes-validations'] ?? [];
      assert.ok(rules.some((r) => r.rule.includes('self.metadata.name.size() <= 63')), kind);
    }
  });
});

function crdFor(kind: Kind): CustomResourceDefinition {
  const crd = buildCrds().find((c) => c.spec.names.kind === kind);
  assert.ok(crd, kind);
  return crd;
}

/** The schema node a printer column's JSONPath reads; `name[?(...)]` is a filter over the items of list `name`. */
function schemaAt(root: StructuralSchema, jsonPath: string): StructuralSchema | undefined {
  let node: StructuralSchema | undefined = root;
  for (const [, name, filter] of jsonPath.matchAll(/\.([A-Za-z0-9_]+)(\[\?\(@\.[A-Za-z]+=="[^"]*"\)\])?/g)) {
    node = node?.properties?.[name!];
    if (filter !== undefined) node = node?.type === 'array' ? node.items : undefined;
  }
  return node;
}

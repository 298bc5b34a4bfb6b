import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { CONFIG_DIR, manifestId, renderKustomization, type Manifest } from './kustomize.ts';

interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

const roles = (): Array<Manifest & { rules?: PolicyRule[] }> =>
  renderKustomization(join(CONFIG_DIR, 'default')).filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role');

/** One line per rule, and the rules that use a wildcard anywhere. */
function auditRules(shipped: Array<Manifest & { rules?: PolicyRule[] }>): { listing: string[]; wildcards: string[] } {
  const listing: string[] = [];
  const wildcards: string[] = [];
  for (const role of shipped) {
    assert.ok(Array.isArray(role.rules) && role.rules.length > 0, `${manifestId(role)} has no rules`);
    for (const rule of role.rules) {
      const line = rule.nonResourceURLs
        ? `${manifestId(role)}: nonResourceURLs=[${rule.nonResourceURLs.join(',')}] verbs=[${(rule.verbs ?? []).join(',')}]`
        : `${manifestId(role)}: apiGroups=[${(rule.apiGroups ?? []).join(',')}] resources=[${(rule.resources ?? []).join(',')}] verbs=[${(rule.verbs ?? []).join(',')}]`;
      listing.push(line);
      for (const field of ['apiGroups', 'resources', 'verbs', 'resourceNames', 'nonResourceURLs'] as const) {
        if ((rule[field] ?? []).some((v) => v.includes('*'))) wildcards.push(`${field} in ${line}`);
      }
      assert.ok((rule.verbs?.length ?? 0) > 0, `a rule without verbs: ${line}`);
      assert.ok((rule.resources?.length ?? 0) > 0 || (rule.nonResourceURLs?.length ?? 0) > 0, `a rule without resources or nonResourceURLs: ${line}`);
    }
  }
  return { listing, wildcards };
}

test('the shipped RBAC rules use no wildcard verbs, resources or apiGroups', () => {
  const shipped = roles();
  assert.ok(shipped.length >= 2, 'expected the manager ClusterRole and the leader-election Role');
  const { listing, wildcards } = auditRules(shipped);
  // The listing is the review surface: print it so a diff in CI output shows what changed.
  console.log(`shipped RBAC rules:\n  ${listing.join('\n  ')}`);
  assert.deepEqual(wildcards, [], `wildcards in the shipped RBAC:\n${wildcards.join('\n')}`);
});

test('the audit catches a wildcard in verbs, resources or apiGroups', () => {
  const role = (rule: PolicyRule) => [{ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'r' }, rules: [rule] }];
  const ok: PolicyRule = { apiGroups: [''], resources: ['pods'], verbs: ['get'] };
  assert.deepEqual(auditRules(role(ok)).wildcards, []);
  assert.equal(auditRules(role({ ...ok, verbs: ['*'] })).wildcards.length, 1);
  assert.equal(auditRules(role({ ...ok, resources: ['pods/*'] })).wildcards.length, 1);
  assert.equal(auditRules(role({ ...ok, apiGroups: ['*'] })).wildcards.length, 1);
});

test('no role grants escalation verbs or access to secrets', () => {
  for (const role of roles()) {
    for (const rule of role.rules ?? []) {
      for (const verb of ['escalate', 'bind', 'impersonate']) assert.ok(!rule.verbs?.includes(verb), `${manifestId(role)} grants ${verb}`);
      assert.ok(!rule.resources?.includes('secrets'), `${manifestId(role)} grants access to secrets`);
    }
  }
});

test('every binding binds a shipped role to the controller ServiceAccount the Deployment runs as', () => {
  const objects = renderKustomization(join(CONFIG_DIR, 'default'));
  const deployment = objects.find((o) => o.kind === 'Deployment') as unknown as { spec: { template: { spec: { serviceAccountName: string } } }; metadata: { namespace: string } };
  const sa = deployment.spec.template.spec.serviceAccountName;
  assert.ok(objects.some((o) => o.kind === 'ServiceAccount' && o.metadata.name === sa && o.metadata.namespace === deployment.metadata.namespace));
  const bindings = objects.filter((o) => o.kind === 'ClusterRoleBinding' || o.kind === 'RoleBinding') as unknown as Array<
    Manifest & { roleRef: { kind: string; name: string }; subjects: Array<{ kind: string; name: string; namespace?: string }> }
  >;
  assert.ok(bindings.length >= 2);
  const roleIds = new Set(roles().map((r) => `${r.kind}/${r.metadata.namespace ?? ''}/${r.metadata.name}`));
  for (const b of bindings) {
    const ns = b.roleRef.kind === 'Role' ? (b.metadata.namespace ?? '') : '';
    assert.ok(roleIds.has(`${b.roleRef.kind}/${ns}/${b.roleRef.name}`), `${manifestId(b)} binds ${b.roleRef.kind} ${b.roleRef.name}, which is not shipped`);
    assert.deepEqual(b.subjects, [{ kind: 'ServiceAccount', name: sa, namespace: deployment.metadata.namespace }], manifestId(b));
  }
});

test('workspace users get Bundles, Clusters and ClusterGroups through the built-in edit/admin, and read-only access through view', () => {
  const shipped = roles();
  const byName = (name: string) => {
    const role = shipped.find((r) => r.kind === 'ClusterRole' && r.metadata.name === name);
    assert.ok(role, `ClusterRole ${name} is shipped`);
    return role;
  };
  const aggregatesTo = (role: Manifest) =>
    Object.entries(role.metadata.labels ?? {})
      .filter(([key, value]) => key.startsWith('rbac.authorization.k8s.io/aggregate-to-') && value === 'true')
      .map(([key]) => key.slice('rbac.authorization.k8s.io/aggregate-to-'.length))
      .sort();
  /** resource → verbs granted on flotilla.dev. */
  const grants = (role: Manifest & { rules?: PolicyRule[] }) => {
    const out = new Map<string, string[]>();
    for (const rule of role.rules ?? []) {
      assert.deepEqual(rule.apiGroups, ['flotilla.dev'], `${role.metadata.name}: Flotilla's API group only`);
      assert.equal(rule.resourceNames, undefined);
      for (const resource of rule.resources ?? []) out.set(resource, [...new Set([...(out.get(resource) ?? []), ...(rule.verbs ?? [])])].sort());
    }
    return out;
  };
  const READ = ['get', 'list', 'watch'];
  const WRITE = ['create', 'delete', 'deletecollection', 'patch', 'update'];

  const edit = byName('flotilla-edit');
  assert.deepEqual(aggregatesTo(edit), ['admin', 'edit']);
  const editGrants = grants(edit);
  assert.deepEqual([...editGrants.keys()].sort(), ['bundles', 'clustergroups', 'clusters'], 'tenants write only their own inputs');
  for (const [resource, verbs] of editGrants) assert.deepEqual(verbs, [...READ, ...WRITE].sort(), resource);

  const view = byName('flotilla-view');
  // Like system:aggregate-to-view: whoever edits also reads.
  assert.deepEqual(aggregatesTo(view), ['admin', 'edit', 'view']);
  const viewGrants = grants(view);
  for (const [resource, verbs] of viewGrants) assert.deepEqual(verbs, READ, `${resource}: view only reads`);
  for (const resource of ['bundles', 'clusters', 'clustergroups', 'bundledeployments']) {
    assert.ok(viewGrants.has(resource), `view reads ${resource}`);
    assert.ok(viewGrants.has(`${resource}/status`), `view reads ${resource}/status`);
  }

  for (const role of [edit, view]) {
    const granted = [...grants(role).keys()];
    // Cluster-scoped, and they hold every workspace's manifests.
    assert.ok(!granted.some((r) => r.startsWith('contents')), `${role.metadata.name} grants nothing on contents`);
    // The controller writes BundleDeployments and every status; agents write BundleDeployment status.
    for (const [resource, verbs] of grants(role)) {
      if (resource.startsWith('bundledeployments') || resource.includes('/')) assert.deepEqual(verbs, READ, `${role.metadata.name}: ${resource} is read-only`);
    }
  }
  // No other shipped role aggregates into the built-in roles.
  assert.deepEqual(
    shipped.filter((r) => aggregatesTo(r).length > 0).map((r) => r.metadata.name).sort(),
    ['flotilla-edit', 'flotilla-view'],
  );
});

test('secure metrics: the controller may create TokenReviews and SubjectAccessReviews; flotilla-metrics-reader grants get on /metrics only', () => {
  const shipped = roles();
  const manager = shipped.find((r) => r.kind === 'ClusterRole' && r.metadata.name === 'flotilla-manager');
  const grants = (group: string, resource: string, verb: string) =>
    (manager?.rules ?? []).some((r) => r.apiGroups?.includes(group) && r.resources?.includes(resource) && r.verbs?.includes(verb));
  assert.ok(grants('authentication.k8s.io', 'tokenreviews', 'create'), 'tokenreviews create');
  assert.ok(grants('authorization.k8s.io', 'subjectaccessreviews', 'create'), 'subjectaccessreviews create');
  const reader = shipped.find((r) => r.kind === 'ClusterRole' && r.metadata.name === 'flotilla-metrics-reader');
  assert.deepEqual(reader?.rules, [{ nonResourceURLs: ['/metrics'], verbs: ['get'] }]);
});

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { GROUP, Plural } from '../../../src/api/constants.ts';

const RBAC_DIR = fileURLToPath(new URL('../../../config/rbac/', import.meta.url));
const SA = { kind: 'ServiceAccount', name: 'flotilla-controller', namespace: 'flotilla-system' };
const ALL_VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];

/** Resource rules carry apiGroups/resources; nonResourceURL rules (metrics-reader) carry nonResourceURLs. */
interface Rule { apiGroups?: string[]; resources?: string[]; nonResourceURLs?: string[]; verbs: string[] }
interface RbacObject {
  kind: string;
  metadata: { name: string; namespace?: string };
  rules?: Rule[];
  roleRef?: { kind: string; name: string };
  subjects?: Array<{ kind: string; name: string; namespace?: string }>;
}

async function loadRbac(): Promise<RbacObject[]> {
  const kustomization = parse(await readFile(join(RBAC_DIR, 'kustomization.yaml'), 'utf8'));
  const files = await Promise.all(
    (kustomization.resources as string[]).map(async (file) => parseAllDocuments(await readFile(join(RBAC_DIR, file), 'utf8')).map((d) => d.toJS() as RbacObject)),
  );
  return files.flat();
}

/** The verbs `rules` grant on `group`/`resource`. */
function verbsFor(rules: Rule[], group: string, resource: string): string[] {
  return [...new Set(rules
    .filter((r) => r.apiGroups?.includes(group) && r.resources?.includes(resource))
    .flatMap((r) => r.verbs))].sort();
}

describe('config/rbac', () => {
  it('uses no wildcards', async () => {
    for (const object of await loadRbac()) {
      for (const rule of object.rules ?? []) {
        const fields = [...(rule.apiGroups ?? []), ...(rule.resources ?? []), ...(rule.nonResourceURLs ?? []), ...rule.verbs];
        assert.ok(fields.length > rule.verbs.length, `${object.metadata.name}: a rule names what it grants`);
        assert.ok(!fields.includes('*'), object.metadata.name);
      }
    }
  });

  it('flotilla-manager grants exactly the controller\'s needs on every Flotilla kind', async () => {
    const role = (await loadRbac()).find((o) => o.kind === 'ClusterRole' && o.metadata.name === 'flotilla-manager');
    assert.ok(role?.rules);
    const granted = new Set(role.rules.filter((r) => r.apiGroups?.includes(GROUP)).flatMap((r) => r.resources ?? []));
    const expected = Object.values(Plural).flatMap((p) => [p, `${p}/status`, `${p}/finalizers`]);
    assert.deepEqual([...granted].sort(), expected.sort());
    for (const plural of Object.values(Plural)) {
      assert.deepEqual(verbsFor(role.rules, GROUP, plural), [...ALL_VERBS].sort(), plural);
      assert.deepEqual(verbsFor(role.rules, GROUP, `${plural}/status`), ['get', 'patch', 'update']);
      assert.deepEqual(verbsFor(role.rules, GROUP, `${plural}/finalizers`), ['update']);
    }
    assert.deepEqual(verbsFor(role.rules, '', 'namespaces'), [...ALL_VERBS].sort());
    assert.deepEqual(verbsFor(role.rules, '', 'events'), ['create', 'patch', 'update']);
    assert.deepEqual(verbsFor(role.rules, 'events.k8s.io', 'events'), ['create', 'patch', 'update']);
    assert.deepEqual(verbsFor(role.rules, 'coordination.k8s.io', 'leases'), ['get', 'list', 'watch'], 'agent heartbeats, read-only');
  });

  it('flotilla-leader-election grants leases in flotilla-system', async () => {
    const role = (await loadRbac()).find((o) => o.kind === 'Role');
    assert.equal(role?.metadata.namespace, 'flotilla-system');
    assert.ok(role.rules);
    assert.deepEqual(verbsFor(role.rules, 'coordination.k8s.io', 'leases'), [...ALL_VERBS].sort());
    assert.ok(verbsFor(role.rules, '', 'events').includes('create'));
  });

  it('binds both roles to the flotilla-controller ServiceAccount', async () => {
    const objects = await loadRbac();
    const account = objects.find((o) => o.kind === 'ServiceAccount');
    assert.deepEqual(account?.metadata, { name: SA.name, namespace: SA.namespace });
    for (const [bindingKind, roleKind, roleName] of [
      ['ClusterRoleBinding', 'ClusterRole', 'flotilla-manager'],
      ['RoleBinding', 'Role', 'flotilla-leader-election'],
    ] as const) {
      const binding = objects.find((o) => o.kind === bindingKind);
      assert.deepEqual(binding?.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: roleKind, name: roleName });
      assert.deepEqual(binding.subjects, [SA]);
    }
  });
});

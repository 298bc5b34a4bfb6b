import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AuthorizationV1Api, CoreV1Api, type KubernetesObject } from '@kubernetes/client-node';
import { apiStatusCode, applyManifests, loadKubeConfig, parseManifests } from './manifests.ts';
import { waitFor } from '../util/wait.ts';
import type { ControlPlane } from './harness.ts';

/**
 * The controller under test runs as its own client-certificate user bound to
 * the RBAC the project ships, not as `system:masters`, which bypasses both
 * RBAC and API Priority and Fairness and would hide missing permissions.
 *
 * Kept apart from harness.ts because it needs @kubernetes/client-node, which
 * takes most of a second to import; the CLI and plain harness users skip it.
 */

export const DEFAULT_RBAC_DIR = fileURLToPath(new URL('../../config/rbac/', import.meta.url));

export interface ControllerKubeconfigOptions {
  /** Directory of RBAC manifests (`*.yaml`/`*.yml`). Default: the repository's config/rbac. */
  rbacDir?: string;
  /** Groups for the user's certificate. */
  groups?: string[];
  /** How long to wait for the new bindings to reach the API server's authorizer. */
  timeoutMs?: number;
}

interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
  resourceNames?: string[];
}

interface RoleObject extends KubernetesObject {
  rules?: PolicyRule[];
}

/**
 * Applies every manifest in the RBAC directory (with the admin credentials),
 * binds every ClusterRole (but those aggregated into the built-in
 * admin/edit/view roles) and Role found there to the client-cert `user`
 * (`<role>-<user>` ClusterRoleBinding / RoleBinding in the Role's
 * namespace), and returns that user's kubeconfig path once the API server
 * authorizes with the new bindings.
 */
export async function controllerKubeconfig(cp: ControlPlane, user = 'flotilla-controller', options: ControllerKubeconfigOptions = {}): Promise<string> {
  const rbacDir = options.rbacDir ?? DEFAULT_RBAC_DIR;
  const manifests = await readRbacManifests(rbacDir);
  const admin = loadKubeConfig(cp.adminKubeconfig);

  // Namespaced manifests (the leader-election Role, the ServiceAccount)
  // need their namespace first: files are applied in name order, and a
  // directory need not ship the Namespace at all.
  const namespaces = new Set(manifests.map((m) => m.metadata?.namespace).filter((ns): ns is string => !!ns));
  const core = admin.makeApiClient(CoreV1Api);
  for (const name of namespaces) {
    try {
      await core.createNamespace({ body: { metadata: { name } } });
    } catch (error) {
      if (apiStatusCode(error) !== 409) throw error;
    }
  }
  await applyManifests(admin, manifests);

  // Roles that aggregate into the built-in admin/edit/view are for workspace
  // users (config/rbac/workspace_roles.yaml), never the controller's.
  const clusterRoles = manifests.filter(
    (m): m is RoleObject => m.kind === 'ClusterRole' && m.apiVersion === 'rbac.authorization.k8s.io/v1' && !aggregatesIntoBuiltInRole(m),
  );
  const roles = manifests.filter((m): m is RoleObject => m.kind === 'Role' && m.apiVersion === 'rbac.authorization.k8s.io/v1');
  const subject = { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: user };
  const bindings: KubernetesObject[] = [
    ...clusterRoles.map((role) => ({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: bindingName(role, user) },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role.metadata?.name },
      subjects: [subject],
    })),
    ...roles.map((role) => ({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: bindingName(role, user), namespace: role.metadata?.namespace },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata?.name },
      subjects: [subject],
    })),
  ];
  if (bindings.length > 0) await applyManifests(admin, bindings);

  const kubeconfig = await cp.userKubeconfig(user, options.groups ?? []);
  await waitUntilAuthorized(admin, user, options.groups ?? [], [...clusterRoles, ...roles], options.timeoutMs ?? 10_000);
  return kubeconfig;
}

async function readRbacManifests(rbacDir: string): Promise<KubernetesObject[]> {
  let files: string[];
  try {
    files = (await readdir(rbacDir)).filter((f) => /\.ya?ml$/.test(f)).sort();
  } catch (error) {
    throw new Error(`Cannot read RBAC manifests from ${rbacDir}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (files.length === 0) throw new Error(`No RBAC manifests (*.yaml) in ${rbacDir}.`);
  const manifests: KubernetesObject[] = [];
  for (const file of files) {
    try {
      // kustomization.yaml describes the directory; it is not an object to apply.
      manifests.push(...parseManifests(await readFile(join(rbacDir, file), 'utf8')).filter((m) => m.kind !== 'Kustomization'));
    } catch (error) {
      throw new Error(`${join(rbacDir, file)}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return manifests;
}

function aggregatesIntoBuiltInRole(role: KubernetesObject): boolean {
  return Object.entries(role.metadata?.labels ?? {}).some(([key, value]) => key.startsWith('rbac.authorization.k8s.io/aggregate-to-') && value === 'true');
}

function bindingName(role: KubernetesObject, user: string): string {
  // Users may be `system:...`; object names may not contain ':'.
  return `${role.metadata?.name}-${user}`.toLowerCase().replace(/[^a-z0-9.-]+/g, '-').slice(0, 253);
}

/**
 * RBAC bindings reach the authorizer through the API server's informers, a
 * few milliseconds after the write: a test that used the kubeconfig at once
 * could see a spurious 403. Ask the authorizer (SubjectAccessReview) about
 * one rule of each role until it agrees.
 */
async function waitUntilAuthorized(
  admin: ReturnType<typeof loadKubeConfig>,
  user: string,
  groups: string[],
  roles: RoleObject[],
  timeoutMs: number,
): Promise<void> {
  const authz = admin.makeApiClient(AuthorizationV1Api);
  for (const role of roles) {
    const rule = role.rules?.find((r) => (r.resources?.length ?? 0) > 0 && (r.verbs?.length ?? 0) > 0);
    if (!rule) continue; // aggregated or non-resource-only roles: nothing simple to probe
    const resourceAttributes = {
      namespace: role.kind === 'Role' ? role.metadata?.namespace : undefined,
      group: rule.apiGroups?.[0] === '*' ? '' : (rule.apiGroups?.[0] ?? ''),
      resource: rule.resources?.[0]?.split('/')[0],
      subresource: rule.resources?.[0]?.split('/')[1],
      verb: rule.verbs?.[0],
      name: rule.resourceNames?.[0],
    };
    await waitFor(
      async () => {
        const review = await authz.createSubjectAccessReview({
          body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec: { user, groups, resourceAttributes } },
        });
        return review.status?.allowed === true;
      },
      { timeoutMs, description: `user ${user} to be authorized by ${role.kind} ${role.metadata?.name} (${JSON.stringify(resourceAttributes)})` },
    );
  }
}

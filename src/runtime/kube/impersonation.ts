import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient, type KubeClientOptions } from './client.ts';

/**
 * Clients that act as another user (`Impersonate-User`, what `kubectl --as`
 * sends): the agent applies a bundle that names a ServiceAccount with that
 * account's permissions, not its own. The base identity needs the
 * `impersonate` verb on users (cluster-admin has it).
 *
 * Only the user is impersonated, not its groups, as with `kubectl --as`:
 * a ServiceAccount's RoleBindings name it as a subject directly, which is
 * how bundles are expected to grant it rights. Bindings to the groups
 * `system:serviceaccounts[:<namespace>]` do not apply.
 */
export function impersonatingKubeConfig(base: KubeConfig, user: string): KubeConfig {
  const currentUser = base.getCurrentUser();
  if (!currentUser) throw new Error('kubeconfig has no current user to impersonate from');
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: base.clusters,
    users: base.users.map((u) => (u.name === currentUser.name ? { ...u, impersonateUser: user } : u)),
    contexts: base.contexts,
    currentContext: base.getCurrentContext(),
  });
  return kc;
}

/** `system:serviceaccount:<namespace>:<name>`, the user name a ServiceAccount authenticates as. */
export function serviceAccountUser(namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${name}`;
}

/**
 * A `clientFor(user)` that builds one impersonating KubeClient per user and
 * keeps it (each has its own connection pool and rate limiter); `close()`
 * closes them all.
 */
export function impersonatingClients(options: KubeClientOptions): { clientFor: (user: string) => KubeClient; close: () => Promise<void> } {
  const clients = new Map<string, KubeClient>();
  return {
    clientFor(user: string): KubeClient {
      let client = clients.get(user);
      if (!client) {
        client = new KubeClient({ ...options, kubeConfig: impersonatingKubeConfig(options.kubeConfig, user) });
        clients.set(user, client);
      }
      return client;
    },
    async close(): Promise<void> {
      await Promise.all([...clients.values()].map((c) => c.close()));
      clients.clear();
    },
  };
}

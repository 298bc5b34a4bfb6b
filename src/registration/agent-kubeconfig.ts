/**
 * The agent's upstream kubeconfig: the server it should dial, the CA it
 * should trust (both from the user's upstream kubeconfig unless overridden),
 * its service-account token, and its deployment namespace as the context's
 * namespace.
 */
import { readFileSync } from 'node:fs';
import type { KubeConfig } from '@kubernetes/client-node';
import { stringify as stringifyYaml } from 'yaml';

export interface AgentKubeconfigInput {
  server: string;
  /** PEM of the CA to trust; omitted = the system roots. */
  caPem?: string;
  /** Keep an upstream kubeconfig's `insecure-skip-tls-verify` (local set-ups only). */
  insecureSkipTlsVerify?: boolean;
  token: string;
  namespace: string;
}

/** Server and CA of the upstream kubeconfig's current cluster; `serverOverride` replaces its server. */
export function upstreamEndpoint(kc: KubeConfig, serverOverride?: string): Pick<AgentKubeconfigInput, 'server' | 'caPem' | 'insecureSkipTlsVerify'> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('the upstream kubeconfig has no current cluster (set current-context)');
  let caPem: string | undefined;
  if (cluster.caData) caPem = Buffer.from(cluster.caData, 'base64').toString('utf8');
  else if (cluster.caFile) caPem = readFileSync(cluster.caFile, 'utf8');
  return { server: serverOverride ?? cluster.server, ...(caPem ? { caPem } : {}), ...(cluster.skipTLSVerify ? { insecureSkipTlsVerify: true } : {}) };
}

export function agentKubeconfigYaml(input: AgentKubeconfigInput): string {
  const cluster: Record<string, unknown> = { server: input.server };
  if (input.caPem) cluster['certificate-authority-data'] = Buffer.from(input.caPem, 'utf8').toString('base64');
  if (input.insecureSkipTlsVerify) cluster['insecure-skip-tls-verify'] = true;
  return stringifyYaml({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'flotilla-upstream', cluster }],
    users: [{ name: 'flotilla-agent', user: { token: input.token } }],
    contexts: [{ name: 'flotilla-agent', context: { cluster: 'flotilla-upstream', user: 'flotilla-agent', namespace: input.namespace } }],
    'current-context': 'flotilla-agent',
  });
}

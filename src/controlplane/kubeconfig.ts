import { writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';

/**
 * Writes a self-contained kubeconfig (certificates embedded, not referenced)
 * so the file keeps working when copied or when the PKI directory is
 * regenerated for another control plane.
 */
export interface ClientCertKubeconfig {
  server: string;
  caPem: string;
  certPem: string;
  keyPem: string;
  user: string;
  clusterName?: string;
}

export function renderKubeconfig(config: ClientCertKubeconfig): string {
  const cluster = config.clusterName ?? 'flotilla-local';
  const b64 = (pem: string) => Buffer.from(pem, 'utf8').toString('base64');
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: cluster, cluster: { server: config.server, 'certificate-authority-data': b64(config.caPem) } }],
    users: [{ name: config.user, user: { 'client-certificate-data': b64(config.certPem), 'client-key-data': b64(config.keyPem) } }],
    contexts: [{ name: `${config.user}@${cluster}`, context: { cluster, user: config.user } }],
    'current-context': `${config.user}@${cluster}`,
    preferences: {},
  });
}

export async function writeKubeconfig(path: string, config: ClientCertKubeconfig): Promise<string> {
  // The file holds a private key: keep it to its owner, as kubectl does.
  await writeFile(path, renderKubeconfig(config), { mode: 0o600 });
  return path;
}

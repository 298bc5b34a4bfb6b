/**
 * etcd flags and the bits of etcd's v3 JSON gateway (grpc-gateway, served on
 * the client URL) the harness needs. The gateway spells bytes as base64 and
 * int64 as decimal strings.
 */

export function etcdArgs(options: { dataDir: string; clientPort: number; peerPort: number }): string[] {
  const clientUrl = `http://127.0.0.1:${options.clientPort}`;
  const peerUrl = `http://127.0.0.1:${options.peerPort}`;
  return [
    '--name=default',
    `--data-dir=${options.dataDir}`,
    `--listen-client-urls=${clientUrl}`,
    `--advertise-client-urls=${clientUrl}`,
    `--listen-peer-urls=${peerUrl}`,
    // Spelled out so the single-member cluster never mentions the default
    // localhost:2380, which another etcd on the machine may own.
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=default=${peerUrl}`,
    // As envtest: the data is throwaway and on tmpfs, fsync buys nothing.
    '--unsafe-no-fsync=true',
  ];
}

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

async function gateway<T>(clientUrl: string, path: string, body: unknown): Promise<T> {
  const response = await fetch(`${clientUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    // A SIGSTOPped etcd accepts the connection but never answers.
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`etcd ${path} answered HTTP ${response.status}: ${text.trim()}`);
  return JSON.parse(text) as T;
}

interface ResponseHeader {
  header?: { revision?: string };
}

/** The store's current revision (what the API server calls the latest resourceVersion). */
export async function etcdRevision(clientUrl: string): Promise<number> {
  const response = await gateway<ResponseHeader>(clientUrl, '/v3/kv/range', { key: b64('compact_rev_key'), keys_only: true });
  const revision = Number(response.header?.revision);
  if (!Number.isSafeInteger(revision) || revision <= 0) throw new Error(`etcd returned no revision: ${JSON.stringify(response)}`);
  return revision;
}

/**
 * Compacts etcd's history physically and returns the compaction revision,
 * which is greater than every resourceVersion any client could have seen
 * before the call: the first write below creates it, so a test can compact
 * "past" what its watchers hold even when the cluster is otherwise idle.
 *
 * The compaction is recorded the way kube-apiserver's own compactor records
 * it (`compact_rev_key` holds the last compacted revision). In a real cluster
 * only the API server compacts, and with ListFromCacheSnapshot (beta, on by
 * default in 1.36) its watch cache follows that key to drop list snapshots
 * of compacted history; recording it keeps the API server's view consistent
 * with what etcd still has. The watch cache's *event* window is not
 * affected: a watch from an old resourceVersion that the cache still holds
 * is served, exactly as in a real cluster.
 */
export async function compactEtcd(clientUrl: string): Promise<number> {
  const current = await etcdRevision(clientUrl);
  // Storing `current` is harmless: that history is about to be compacted.
  const put = await gateway<ResponseHeader>(clientUrl, '/v3/kv/put', { key: b64('compact_rev_key'), value: b64(String(current)) });
  const revision = Number(put.header?.revision);
  if (!Number.isSafeInteger(revision) || revision <= current) throw new Error(`etcd put returned no usable revision: ${JSON.stringify(put)}`);
  await gateway(clientUrl, '/v3/kv/compaction', { revision: String(revision), physical: true });
  await gateway(clientUrl, '/v3/kv/put', { key: b64('compact_rev_key'), value: b64(String(revision)) });
  return revision;
}

/**
 * The deployment namespace of a Cluster: where its BundleDeployments live
 * (docs/architecture.md#clusters-and-deployment-namespaces). Its name is a
 * pure function of workspace and Cluster name, so every step that needs it
 * (creating it, placing BundleDeployments, cleaning up after a crash)
 * computes the same name without reading any state.
 *
 *   flotilla-<workspace>-<cluster>-<8 hex of sha256("<workspace>/<cluster>")>
 *
 * - The readable parts are sanitised to DNS-1123 label characters (lower
 *   case; runs of anything else become one "-"; no "-" at either end) and
 *   shortened so the whole name is at most 63 characters. The budget is
 *   shared fairly: a part shorter than half keeps all of it and the other
 *   part gets the rest.
 * - The hash is taken over the *raw* inputs, so names that read alike after
 *   sanitising or truncation ("a-b"/"c" vs "a"/"b-c", long shared prefixes)
 *   still differ. Workspace and Cluster names cannot contain "/", so
 *   "<workspace>/<cluster>" identifies the pair unambiguously.
 * - Two different pairs collide only if their readable parts are equal *and*
 *   their 32-bit hashes are: among 10,000 Clusters whose readable parts are
 *   all identical the chance is about 1.2%; in practice names differ
 *   readably and the chance is negligible.
 * - The `flotilla-` prefix keeps these namespaces apart from users' own and
 *   makes them easy to spot (`kubectl get ns | grep flotilla-`).
 */
import { createHash } from 'node:crypto';
import { Label, MANAGED_BY_VALUE } from '../api/constants.ts';

export const DEPLOYMENT_NAMESPACE_PREFIX = 'flotilla';
/** Kubernetes namespace names are DNS-1123 labels: at most 63 characters. */
export const DEPLOYMENT_NAMESPACE_MAX_LENGTH = 63;
export const DEPLOYMENT_NAMESPACE_HASH_LENGTH = 8;

/** Characters left for "<workspace>-<cluster>" once prefix, hash and their dashes are in. */
const READABLE_BUDGET =
  DEPLOYMENT_NAMESPACE_MAX_LENGTH - (DEPLOYMENT_NAMESPACE_PREFIX.length + 1) - (1 + DEPLOYMENT_NAMESPACE_HASH_LENGTH);

/**
 * Names computed so far: every Bundle reconcile asks for the namespace of
 * every Cluster it targets, and a SHA-256 per pair and call was 7% of the
 * controller's CPU in a label flip. Bounded: insertion order evicts.
 */
const memo = new Map<string, string>();
const MEMO_SIZE = 65_536;

/** The deployment namespace of Cluster `clusterName` in workspace `workspace`. Deterministic for any input. */
export function deploymentNamespaceFor(workspace: string, clusterName: string): string {
  const key = `${workspace}/${clusterName}`;
  const known = memo.get(key);
  if (known !== undefined) return known;
  const name = computeName(workspace, clusterName);
  if (memo.size >= MEMO_SIZE) memo.delete(memo.keys().next().value!);
  memo.set(key, name);
  return name;
}

function computeName(workspace: string, clusterName: string): string {
  const hash = createHash('sha256')
    .update(`${workspace}/${clusterName}`, 'utf8')
    .digest('hex')
    .slice(0, DEPLOYMENT_NAMESPACE_HASH_LENGTH);
  const [ws, cluster] = fitParts(sanitise(workspace), sanitise(clusterName));
  return [DEPLOYMENT_NAMESPACE_PREFIX, ws, cluster, hash].filter((part) => part !== '').join('-');
}

/**
 * Labels for the deployment namespace: who manages it and whose it is, so it
 * can be found by Cluster (and audited) without parsing its name.
 */
export function deploymentNamespaceLabels(workspace: string, clusterName: string): Record<string, string> {
  return {
    [Label.ManagedBy]: MANAGED_BY_VALUE,
    [Label.ClusterName]: clusterName,
    [Label.ClusterNamespace]: workspace,
  };
}

/** Lower-case alphanumerics, other runs collapsed to one "-", no "-" at the ends. */
function sanitise(text: string): string {
  return trimDashes(text.toLowerCase().replace(/[^a-z0-9]+/g, '-'));
}

/**
 * Shortens the two parts so that they and the dash joining them fit the
 * budget; an empty part takes no dash.
 */
function fitParts(ws: string, cluster: string): [string, string] {
  const joiner = ws !== '' && cluster !== '' ? 1 : 0;
  const room = READABLE_BUDGET - joiner;
  if (ws.length + cluster.length <= room) return [ws, cluster];
  const half = Math.floor(room / 2);
  let wsRoom: number;
  if (ws.length <= half) wsRoom = ws.length;
  else if (cluster.length <= room - half) wsRoom = room - cluster.length;
  else wsRoom = half;
  return [truncate(ws, wsRoom), truncate(cluster, room - wsRoom)];
}

function truncate(part: string, length: number): string {
  return part.length <= length ? part : trimDashes(part.slice(0, length));
}

function trimDashes(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && text.charCodeAt(start) === 45) start++;
  while (end > start && text.charCodeAt(end - 1) === 45) end--;
  return text.slice(start, end);
}

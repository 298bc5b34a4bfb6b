/**
 * Finding an ApplySet's members on the cluster: for each group-kind its
 * parent records, LIST everything labelled part-of the set (across all
 * namespaces: the agent's own identity may read them all). What pruning and
 * removal both start from.
 */
import type { ListerWatcher } from '../../runtime/kube/interfaces.ts';
import type { KubeObject, ResourceType } from '../../runtime/kube/resource.ts';
import { parseGroupKind } from './applyset.ts';
import { ApplySetKeys, identityOf, refOf, type ObjectRef } from './types.ts';

export interface Member {
  type: ResourceType;
  object: KubeObject;
  ref: ObjectRef;
  identity: string;
}

export interface GroupKindMapper {
  resourceForGroupKind(group: string, kind: string): Promise<ResourceType | undefined>;
}

const PAGE = 500;

/**
 * Members in deletion order: ordinary kinds first, then CRDs (their custom
 * resources are gone by then), then Namespaces (whose deletion would take
 * their contents along anyway). Group-kinds the cluster no longer serves
 * (a CRD removed by hand) are skipped: nothing of theirs can remain.
 */
export async function listMembers(
  client: Pick<ListerWatcher, 'list'>,
  mapper: GroupKindMapper,
  groupKinds: readonly string[],
  applySetId: string,
  signal?: AbortSignal,
): Promise<Member[]> {
  const members: Member[] = [];
  for (const text of [...groupKinds].sort((a, b) => deletionRank(a) - deletionRank(b))) {
    const { group, kind } = parseGroupKind(text);
    const type = await mapper.resourceForGroupKind(group, kind);
    if (!type) continue;
    let continueToken: string | undefined;
    do {
      const page = await client.list<KubeObject>(type, {
        labelSelector: `${ApplySetKeys.partOf}=${applySetId}`,
        limit: PAGE,
        continue: continueToken,
        signal,
      });
      for (const item of page.items) {
        // The selector already says so; checked again because deleting
        // another set's object is the one mistake pruning must never make.
        if (item.metadata.labels?.[ApplySetKeys.partOf] !== applySetId) continue;
        const object: KubeObject = { ...item, apiVersion: item.apiVersion ?? apiVersion(type), kind: item.kind ?? type.kind };
        members.push({
          type,
          object,
          ref: refOf(object),
          identity: identityOf(type.group, type.kind, type.namespaced ? item.metadata.namespace : undefined, item.metadata.name ?? ''),
        });
      }
      continueToken = page.metadata.continue || undefined;
    } while (continueToken);
  }
  return members;
}

function deletionRank(groupKind: string): number {
  if (groupKind === 'Namespace') return 2;
  if (groupKind === 'CustomResourceDefinition.apiextensions.k8s.io') return 1;
  return 0;
}

function apiVersion(type: ResourceType): string {
  return type.group === '' ? type.version : `${type.group}/${type.version}`;
}

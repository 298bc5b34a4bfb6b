/**
 * A `Map<key, Set<member>>` used as a multimap (index postings, groups):
 * empty sets are removed so the map's keys are exactly the keys in use.
 */
export function addToSetMap<K, V>(map: Map<K, Set<V>>, key: K, member: V): void {
  let members = map.get(key);
  if (!members) map.set(key, (members = new Set()));
  members.add(member);
}

export function removeFromSetMap<K, V>(map: Map<K, Set<V>>, key: K, member: V): void {
  const members = map.get(key);
  if (!members) return;
  members.delete(member);
  if (members.size === 0) map.delete(key);
}

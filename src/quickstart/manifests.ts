/**
 * Reads the manifests of a plain kustomization directory (config/crd,
 * config/samples): the files its `resources:` list names, in that order.
 * The quick start needs no kustomize features beyond that, and refusing
 * anything else keeps it from silently applying something different from
 * what `kubectl apply -k` would.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KubernetesObject } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { parseManifests } from '../controlplane/manifests.ts';

const ALLOWED_KEYS = new Set(['apiVersion', 'kind', 'resources']);

export async function readKustomization(dir: string): Promise<KubernetesObject[]> {
  const file = join(dir, 'kustomization.yaml');
  const kustomization = parseYaml(await readFile(file, 'utf8')) as Record<string, unknown>;
  const extra = Object.keys(kustomization).filter((k) => !ALLOWED_KEYS.has(k));
  if (extra.length > 0) throw new Error(`${file} uses ${extra.join(', ')}, which the quick start does not support; apply it with kubectl apply -k.`);
  const resources = kustomization.resources;
  if (!Array.isArray(resources) || !resources.every((r): r is string => typeof r === 'string' && r.endsWith('.yaml'))) {
    throw new Error(`${file} must list its resources as .yaml files for the quick start.`);
  }
  const objects: KubernetesObject[] = [];
  for (const resource of resources) objects.push(...parseManifests(await readFile(join(dir, resource), 'utf8')));
  return objects;
}

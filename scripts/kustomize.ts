import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

/**
 * A small kustomize renderer for the project's own kustomizations, so unit
 * tests and `npm run manifests` (config/install.yaml) need no kustomize or
 * kubectl binary and give the same output on every machine. It supports
 * exactly what config/ uses (`resources` as files or directories,
 * `configMapGenerator` with `files`/`literals`/`options` and a stable name,
 * `images`) and throws on anything else, so a kustomization this renderer
 * would misread fails loudly instead of being rendered half-way. Like
 * kustomize's default load restrictor (LoadRestrictionsRootOnly), generator
 * files must live under the kustomization's own directory. Objects come out in
 * kustomize's default ("legacy") order; test/integration/manifests-apply.test.ts
 * checks the output against the real `kubectl kustomize`.
 */

export const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
export const CONFIG_DIR = join(REPO_ROOT, 'config');

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

interface ConfigMapGeneratorEntry {
  name?: string;
  namespace?: string;
  behavior?: string;
  files?: string[];
  literals?: string[];
  options?: { disableNameSuffixHash?: boolean; labels?: Record<string, string>; annotations?: Record<string, string> };
}

interface ImageEntry {
  name?: string;
  newName?: string;
  newTag?: string;
  digest?: string;
}

interface Kustomization {
  apiVersion?: string;
  kind?: string;
  resources?: string[];
  configMapGenerator?: ConfigMapGeneratorEntry[];
  generatorOptions?: { disableNameSuffixHash?: boolean };
  images?: ImageEntry[];
}

const SUPPORTED_FIELDS = new Set(['apiVersion', 'kind', 'resources', 'configMapGenerator', 'generatorOptions', 'images']);

/** Every document of a YAML file (comments and empty documents skipped); throws on a YAML error. */
export function readYamlDocuments(file: string): unknown[] {
  const docs: unknown[] = [];
  for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value: unknown = doc.toJS();
    if (value !== null && value !== undefined) docs.push(value);
  }
  return docs;
}

export function readKustomization(dir: string): Kustomization {
  const file = join(dir, 'kustomization.yaml');
  const [doc, ...rest] = readYamlDocuments(file);
  if (rest.length > 0 || typeof doc !== 'object' || doc === null) throw new Error(`${file}: expected one Kustomization document`);
  const k = doc as Kustomization;
  if (k.kind !== 'Kustomization') throw new Error(`${file}: kind is ${String(k.kind)}, expected Kustomization`);
  for (const key of Object.keys(k)) {
    if (!SUPPORTED_FIELDS.has(key)) throw new Error(`${file}: field ${key} is not supported by the renderer (scripts/kustomize.ts)`);
  }
  return k;
}

/** Renders `dir`'s kustomization.yaml into the objects `kustomize build` would emit, in its order. */
export function renderKustomization(dir: string): Manifest[] {
  return sortLegacy(accumulate(dir));
}

/** The objects of `dir` and its bases in resource order, generated objects last (before sorting). */
function accumulate(dir: string): Manifest[] {
  const root = resolve(dir);
  const k = readKustomization(root);
  const objects: Manifest[] = [];
  for (const entry of k.resources ?? []) {
    if (/^[a-z]+:\/\//i.test(entry) || isAbsolute(entry)) throw new Error(`${root}: resource ${entry} must be a relative path`);
    const path = resolve(root, entry);
    if (statSync(path).isDirectory()) objects.push(...accumulate(path));
    else objects.push(...readYamlDocuments(path).map((doc) => asManifest(doc, path)));
  }
  for (const gen of k.configMapGenerator ?? []) objects.push(generateConfigMap(root, gen, k.generatorOptions));
  for (const image of k.images ?? []) applyImage(objects, image, root);

  const seen = new Set<string>();
  for (const o of objects) {
    const id = manifestId(o);
    if (seen.has(id)) throw new Error(`${root}: ${id} is defined twice (kustomize rejects duplicate resources)`);
    seen.add(id);
  }
  return objects;
}

/**
 * kustomize's default output order (`sortOptions.order: legacy`, kustomize's
 * api/resid/gvk.go): kinds that others depend on first (Namespace, CRDs,
 * ServiceAccounts, RBAC, ConfigMaps, ...), webhook configurations last, any
 * other kind in between by `Kind.version.group`; then by namespace and name.
 * So a single `kubectl apply -f` of the output creates the namespace and the
 * CRDs before anything that needs them.
 */
export function sortLegacy(objects: readonly Manifest[]): Manifest[] {
  const key = (o: Manifest) => {
    const { group, version } = groupVersion(o.apiVersion);
    return { rank: KIND_RANK.get(o.kind) ?? 0, gvk: `${o.kind}.${version || '[noVer]'}.${group || '[noGrp]'}`, ns: o.metadata.namespace ?? '', name: o.metadata.name };
  };
  const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return objects
    .map((o) => ({ o, k: key(o) }))
    .sort((a, b) => a.k.rank - b.k.rank || compare(a.k.gvk, b.k.gvk) || compare(a.k.ns, b.k.ns) || compare(a.k.name, b.k.name))
    .map(({ o }) => o);
}

const ORDER_FIRST = [
  'Namespace', 'ResourceQuota', 'StorageClass', 'CustomResourceDefinition', 'ServiceAccount', 'PodSecurityPolicy', 'Role', 'ClusterRole',
  'RoleBinding', 'ClusterRoleBinding', 'ConfigMap', 'Secret', 'Endpoints', 'Service', 'LimitRange', 'PriorityClass', 'PersistentVolume',
  'PersistentVolumeClaim', 'Deployment', 'StatefulSet', 'CronJob', 'PodDisruptionBudget',
];
const ORDER_LAST = ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration'];
const KIND_RANK = new Map<string, number>([
  ...ORDER_FIRST.map((kind, i): [string, number] => [kind, i - ORDER_FIRST.length]),
  ...ORDER_LAST.map((kind, i): [string, number] => [kind, i + 1]),
]);

function groupVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

export function manifestId(o: Manifest): string {
  const group = o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : '';
  return `${o.kind}.${group} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
}

function asManifest(doc: unknown, file: string): Manifest {
  const o = doc as Partial<Manifest>;
  if (typeof o !== 'object' || o === null || typeof o.apiVersion !== 'string' || typeof o.kind !== 'string' || typeof o.metadata?.name !== 'string') {
    throw new Error(`${file}: every document must have apiVersion, kind and metadata.name`);
  }
  return o as Manifest;
}

function generateConfigMap(root: string, gen: ConfigMapGeneratorEntry, defaults: Kustomization['generatorOptions']): Manifest {
  const where = `${root}: configMapGenerator ${gen.name ?? '(unnamed)'}`;
  if (!gen.name) throw new Error(`${where}: name is required`);
  if (gen.behavior !== undefined && gen.behavior !== 'create') throw new Error(`${where}: behavior ${gen.behavior} is not supported`);
  const stableName = gen.options?.disableNameSuffixHash ?? defaults?.disableNameSuffixHash ?? false;
  if (!stableName) {
    // kustomize would append a content hash and rewrite every reference to it.
    throw new Error(`${where}: name suffix hashes are not supported by the renderer; set options.disableNameSuffixHash`);
  }
  const data: Record<string, string> = {};
  for (const spec of gen.files ?? []) {
    const [key, path] = spec.includes('=') ? (spec.split('=', 2) as [string, string]) : [basename(spec), spec];
    const file = resolve(root, path);
    const rel = relative(root, file);
    if (rel.startsWith('..') || isAbsolute(rel)) {
      throw new Error(`${where}: file ${path} is outside the kustomization root ${root} (kustomize's LoadRestrictionsRootOnly refuses it)`);
    }
    if (key in data) throw new Error(`${where}: key ${key} appears twice`);
    data[key] = readFileSync(file, 'utf8');
  }
  for (const literal of gen.literals ?? []) {
    const eq = literal.indexOf('=');
    if (eq <= 0) throw new Error(`${where}: literal ${literal} is not key=value`);
    data[literal.slice(0, eq)] = literal.slice(eq + 1);
  }
  const metadata: Manifest['metadata'] = { name: gen.name };
  if (gen.namespace) metadata.namespace = gen.namespace;
  if (gen.options?.labels) metadata.labels = { ...gen.options.labels };
  if (gen.options?.annotations) metadata.annotations = { ...gen.options.annotations };
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata, data };
}

function applyImage(objects: Manifest[], image: ImageEntry, root: string): void {
  if (!image.name) throw new Error(`${root}: images entry without name`);
  if (image.digest) throw new Error(`${root}: image digests are not supported by the renderer`);
  for (const o of objects) {
    const spec = (o as { spec?: { template?: { spec?: { containers?: Array<{ image?: string }>; initContainers?: Array<{ image?: string }> } } } }).spec
      ?.template?.spec;
    for (const c of [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])]) {
      if (!c.image) continue;
      const { name, tag } = splitImage(c.image);
      if (name !== image.name) continue;
      c.image = `${image.newName ?? name}${image.newTag !== undefined ? `:${image.newTag}` : tag !== undefined ? `:${tag}` : ''}`;
    }
  }
}

function splitImage(ref: string): { name: string; tag: string | undefined } {
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  return colon > slash ? { name: ref.slice(0, colon), tag: ref.slice(colon + 1) } : { name: ref, tag: undefined };
}

/** Every `*.yaml`/`*.yml` file (recursively) under `dir`. */
export function yamlFilesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSorted(d)) {
      const path = join(d, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.ya?ml$/.test(entry)) out.push(path);
    }
  };
  walk(dir);
  return out;
}

function readdirSorted(d: string): string[] {
  return readdirSync(d).sort();
}

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

/**
 * A small kustomize renderer for the project's own kustomizations, so tests
 * need no kustomize or kubectl binary. It supports exactly what config/ uses
 * (`resources` as files or directories, `configMapGenerator` with `files`/
 * `literals`/`options` and a stable name, `images`) and throws on anything
 * else, so a kustomization this renderer would misread fails loudly instead of
 * being tested half-rendered. Like kustomize's default load restrictor
 * (LoadRestrictionsRootOnly), generator files must live under the
 * kustomization's own directory.
 */

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
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
    if (!SUPPORTED_FIELDS.has(key)) throw new Error(`${file}: field ${key} is not supported by the test renderer (test/unit/manifests/kustomize.ts)`);
  }
  return k;
}

/** Renders `dir`'s kustomization.yaml into the objects kustomize would emit (in resource order, generated objects last). */
export function renderKustomization(dir: string): Manifest[] {
  const root = resolve(dir);
  const k = readKustomization(root);
  const objects: Manifest[] = [];
  for (const entry of k.resources ?? []) {
    if (/^[a-z]+:\/\//i.test(entry) || isAbsolute(entry)) throw new Error(`${root}: resource ${entry} must be a relative path`);
    const path = resolve(root, entry);
    if (statSync(path).isDirectory()) objects.push(...renderKustomization(path));
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
    throw new Error(`${where}: name suffix hashes are not supported by the test renderer; set options.disableNameSuffixHash`);
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
  if (image.digest) throw new Error(`${root}: image digests are not supported by the test renderer`);
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

/**
 * Static validation of a Bundle: what is wrong with it regardless of the
 * workspace it lives in. Everything is reported at once, with field paths
 * and messages that say what to fix, because a user fixing one problem per
 * reconcile round trip is the slowest possible feedback loop.
 *
 * Checked:
 *   - every `spec.resources[]` item is `{name, content}` with a file-like name;
 *   - names are unique (`DuplicateResourceName`);
 *   - every `content` parses (`parseManifests`: YAML stream or JSON) into
 *     objects with `apiVersion`, `kind` and `metadata.name` (`InvalidResources`);
 *   - no object is declared twice (`ResourceNameCollision`), see below;
 *   - the resources fit in etcd (`BundleTooLarge`): each manifest and all of
 *     them together, in bytes, see below;
 *   - targets are well-formed (`InvalidTarget`, from `compileTargets`).
 * Missing ClusterGroups depend on the workspace and are reported by
 * `computePlacement` (whose problems include the target problems here, so a
 * controller uses `validateBundleResources` plus the placement's problems).
 */
import { Limits } from '../api/constants.ts';
import { RESOURCE_NAME_MAX_LENGTH, RESOURCE_NAME_PATTERN } from '../api/patterns.ts';
import { childPath, fieldError, indexPath } from '../labels/validation.ts';
import { describeManifestError, parseManifests, type Manifest } from './manifests.ts';
import { BundleProblemReason, bundleProblem, type BundleProblem } from './problems.ts';
import { compileTargets } from './target-criteria.ts';

/**
 * Upper bound on the size of a Bundle's resources, in bytes *as stored*:
 * the UTF-8 length of the JSON encoding of `spec.resources`, which is what
 * etcd holds (JSON escaping makes a manifest with many quotes or newlines
 * larger than its text, and non-ASCII text takes several bytes per character).
 *
 * Why this number: etcd rejects requests over 1,572,864 bytes (1.5 MiB,
 * `--max-request-bytes`). The resources are stored twice, in the Bundle and
 * in its Content, each in its own object, so each object must fit on its
 * own; 1,310,720 bytes (1.25 MiB) leaves 256 KiB for metadata,
 * managedFields, status and the request envelope. It is the figure the
 * admission policy applies to the UTF-8 bytes of the manifest texts
 * (`Limits.resourcesMaxTotalSize`), so a Bundle the API server accepted is
 * only rejected here when JSON escaping (quotes, backslashes, line breaks)
 * pushes its stored size over the line, or when the policy is not installed.
 */
export const MAX_RESOURCES_ENCODED_BYTES: number = Limits.resourcesMaxTotalSize;

/** Upper bound on one manifest text, in UTF-8 bytes, as the admission policy holds it. */
export const MAX_MANIFEST_BYTES: number = Limits.resourceContentMaxLength;

export const RESOURCES_FIELD = 'spec.resources';

/** The parts of a Bundle validation reads (an API `Bundle` fits). */
export interface BundleForValidation {
  readonly spec: {
    readonly resources?: unknown;
    readonly targets?: unknown;
    readonly options?: { readonly defaultNamespace?: string } | null;
  };
}

export interface ResourceValidationOptions {
  /** Namespace for manifests that set none (the Bundle's `spec.options.defaultNamespace`). */
  readonly defaultNamespace?: string | undefined;
  /** Size bound in bytes; defaults to `MAX_RESOURCES_ENCODED_BYTES`. */
  readonly maxEncodedBytes?: number;
  /** Bound on one manifest text in UTF-8 bytes; defaults to `MAX_MANIFEST_BYTES`. */
  readonly maxManifestBytes?: number;
}

/** Every static problem of `bundle`: resources first, then targets. */
export function validateBundle(bundle: BundleForValidation): BundleProblem[] {
  return [
    ...validateBundleResources(bundle.spec.resources, { defaultNamespace: bundle.spec.options?.defaultNamespace }),
    ...validateBundleTargets(bundle.spec.targets),
  ];
}

/** Static problems of `spec.targets`: malformed targets and invalid selectors. */
export function validateBundleTargets(targets: unknown): BundleProblem[] {
  return [...compileTargets(targets).problems];
}

/** Size of `resources` as stored: UTF-8 bytes of their JSON encoding. */
export function encodedResourcesSize(resources: unknown): number {
  return Buffer.byteLength(JSON.stringify(resources ?? []), 'utf8');
}

const resourceNameRegexp = new RegExp(RESOURCE_NAME_PATTERN);

/** Problems of `spec.resources` (absent or null: no resources, which is valid). */
export function validateBundleResources(resources: unknown, options: ResourceValidationOptions = {}): BundleProblem[] {
  if (resources === undefined || resources === null) return [];
  if (!Array.isArray(resources)) {
    return [
      bundleProblem(
        BundleProblemReason.InvalidResources,
        RESOURCES_FIELD,
        fieldError('Invalid', RESOURCES_FIELD, 'must be a list of {name, content} items', resources).message,
      ),
    ];
  }
  const problems: BundleProblem[] = [];
  problems.push(...sizeProblems(resources, options.maxEncodedBytes ?? MAX_RESOURCES_ENCODED_BYTES));

  const defaultNamespace = options.defaultNamespace || 'default';
  const firstIndexOfName = new Map<string, number>();
  const declared = new Map<string, { resource: string; document: number }>();

  resources.forEach((item: unknown, index) => {
    const field = indexPath(RESOURCES_FIELD, index);
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      problems.push(invalidResources(fieldError('Invalid', field, 'must be an object with name and content', item).message, field));
      return;
    }
    const { name, content } = item as { name?: unknown; content?: unknown };

    const namePath = childPath(field, 'name');
    let label = `resource ${index}`;
    if (typeof name !== 'string' || name === '') {
      problems.push(invalidResources(fieldError('Required', namePath, 'every resource needs a file-like name, e.g. deployment.yaml').message, namePath));
    } else {
      label = `resource "${name}"`;
      if (name.length > RESOURCE_NAME_MAX_LENGTH || !resourceNameRegexp.test(name)) {
        problems.push(
          invalidResources(
            fieldError(
              'Invalid',
              namePath,
              `must be a relative file-like path of at most ${RESOURCE_NAME_MAX_LENGTH} characters: segments of letters, digits, '-', '_' or '.', starting and ending with a letter or digit, separated by '/' (e.g. app/deployment.yaml)`,
              name,
            ).message,
            namePath,
          ),
        );
      }
      const first = firstIndexOfName.get(name);
      if (first === undefined) {
        firstIndexOfName.set(name, index);
      } else {
        problems.push(
          bundleProblem(
            BundleProblemReason.DuplicateResourceName,
            namePath,
            `${namePath}: Duplicate value: "${name}": already used by ${indexPath(RESOURCES_FIELD, first)}; give each resource a unique name`,
          ),
        );
      }
    }

    const contentPath = childPath(field, 'content');
    if (typeof content !== 'string') {
      problems.push(invalidResources(fieldError('Required', contentPath, 'must be the manifest text (YAML or JSON)').message, contentPath));
      return;
    }
    const bytes = Buffer.byteLength(content, 'utf8');
    const maxManifestBytes = options.maxManifestBytes ?? MAX_MANIFEST_BYTES;
    if (bytes > maxManifestBytes) {
      problems.push(
        bundleProblem(
          BundleProblemReason.BundleTooLarge,
          contentPath,
          `${contentPath}: ${label} takes ${formatBytes(bytes)} (UTF-8), over the limit of ${formatBytes(maxManifestBytes)} per manifest; ` +
            'split it into several manifests or Bundles, or keep large data (e.g. ConfigMap payloads) out of the manifests',
        ),
      );
      return; // parsing megabytes only to report more about a manifest that cannot be stored anyway
    }
    const parsed = parseManifests(content);
    for (const error of parsed.errors) {
      problems.push(invalidResources(`${contentPath}: ${label}, ${describeManifestError(error)}`, contentPath));
    }
    if (parsed.manifests.length === 0 && parsed.errors.length === 0) {
      problems.push(
        invalidResources(
          `${contentPath}: ${label} contains no Kubernetes object (it is empty or only comments); remove it or add a manifest`,
          contentPath,
        ),
      );
    }
    for (const manifest of parsed.manifests) {
      const identity = objectIdentity(manifest, defaultNamespace);
      const previous = declared.get(identity.key);
      if (previous === undefined) {
        declared.set(identity.key, { resource: label, document: manifest.document });
        continue;
      }
      problems.push(
        bundleProblem(
          BundleProblemReason.ResourceNameCollision,
          contentPath,
          `${contentPath}: ${label}, document ${manifest.document} declares ${identity.display}, ` +
            `already declared by ${previous.resource}, document ${previous.document}; ` +
            'each object may be declared only once per Bundle (the two would overwrite each other on every apply)',
        ),
      );
    }
  });
  return problems;
}

/**
 * Identity of the object a manifest declares: API group (not version: one
 * object is served under every version of its group, so `apps/v1` and
 * `apps/v1beta2` Deployments of one name are the same object), kind,
 * namespace and name. A manifest without a namespace lands in the default
 * namespace, so it collides with one naming that namespace explicitly. For
 * cluster-scoped kinds the namespace plays no part, and two such manifests
 * without one still compare equal.
 */
function objectIdentity(manifest: Manifest, defaultNamespace: string): { key: string; display: string } {
  const slash = manifest.apiVersion.lastIndexOf('/');
  const group = slash === -1 ? '' : manifest.apiVersion.slice(0, slash);
  const namespace = manifest.namespace ?? defaultNamespace;
  const kind = group === '' ? manifest.kind : `${manifest.kind}.${group}`;
  // NUL cannot occur in any of the parts (they are names), so the key is unambiguous.
  return {
    key: [group, manifest.kind, namespace, manifest.name].join('\u0000'),
    display: `${kind} "${namespace}/${manifest.name}"`,
  };
}

function sizeProblems(resources: readonly unknown[], maxBytes: number): BundleProblem[] {
  const size = encodedResourcesSize(resources);
  if (size <= maxBytes) return [];
  const largest = resources
    .map((item, index) => ({
      index,
      name: typeof (item as { name?: unknown } | null)?.name === 'string' ? (item as { name: string }).name : `#${index}`,
      bytes: encodedResourcesSize(item),
    }))
    .sort((a, b) => b.bytes - a.bytes || a.index - b.index)
    .slice(0, 3)
    .map((r) => `"${r.name}" (${formatBytes(r.bytes)})`);
  return [
    bundleProblem(
      BundleProblemReason.BundleTooLarge,
      RESOURCES_FIELD,
      `${RESOURCES_FIELD}: the manifests take ${formatBytes(size)} as stored, over the limit of ${formatBytes(maxBytes)} ` +
        `(etcd stores objects of at most about 1.5 MiB); largest: ${largest.join(', ')}. ` +
        'Split the Bundle into several Bundles, or keep large data (e.g. ConfigMap payloads) out of the manifests',
    ),
  ];
}

function formatBytes(bytes: number): string {
  return `${bytes.toLocaleString('en-US')} bytes`;
}

function invalidResources(message: string, field: string): BundleProblem {
  return bundleProblem(BundleProblemReason.InvalidResources, field, message);
}

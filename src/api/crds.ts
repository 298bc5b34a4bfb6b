/**
 * The CustomResourceDefinitions of the Flotilla API, built from the TypeBox
 * schemas (the single source of truth). `scripts/generate-crds.ts` writes
 * them to config/crd, next to the admission policy that holds the size
 * limits in bytes; a unit test checks the committed files equal
 * `renderCrdFiles()`, so schema and manifests cannot drift apart.
 */
import { stringify } from 'yaml';
import { CATEGORY, GROUP, Kind, Plural, VERSION } from './constants.ts';
import { KindResources, KindSchema } from './kinds.ts';
import { buildResourceSizePolicy } from './resource-size-policy.ts';
import { toStructuralSchema } from './structural.ts';
import type { StructuralSchema } from './structural.ts';

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  priority?: number;
}

export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string };
  spec: {
    group: string;
    names: {
      kind: string;
      listKind: string;
      plural: string;
      singular: string;
      shortNames: string[];
      categories: string[];
    };
    scope: 'Namespaced' | 'Cluster';
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      schema: { openAPIV3Schema: StructuralSchema };
      subresources: { status: Record<string, never> };
      additionalPrinterColumns: PrinterColumn[];
    }[];
  };
}

interface KindDefinition {
  kind: Kind;
  /** `f`-prefixed so they clash neither with built-ins nor with Fleet or Cluster API. */
  shortNames: string[];
  columns: PrinterColumn[];
}

const AGE: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };

/**
 * Printer columns: what `kubectl get` shows by default fits a terminal (no
 * 60-character IDs); long or secondary values are `priority: 1`, shown by
 * `kubectl get -o wide`. STATUS reads `status.display.status`, the reason
 * that matters most (placement/display-status.ts), not merely the worst
 * BundleDeployment state. PAUSED reads `spec.paused`: the truth at once,
 * before any controller reacts (`<none>` when unset).
 */
const DEFINITIONS: readonly KindDefinition[] = [
  {
    kind: Kind.Cluster,
    shortNames: ['fcl'],
    columns: [
      { name: 'Ready', type: 'string', jsonPath: '.status.display.readyBundles', description: 'Ready/desired BundleDeployments' },
      { name: 'Status', type: 'string', jsonPath: '.status.display.status', description: 'The reason that matters most: a problem of the Cluster, else the worst BundleDeployment state' },
      { name: 'Agent', type: 'string', jsonPath: '.status.conditions[?(@.type=="AgentConnected")].status', description: 'AgentConnected: the agent renews its heartbeat Lease' },
      { name: 'Paused', type: 'boolean', jsonPath: '.spec.paused', description: 'BundleDeployments on this cluster are kept but not updated' },
      // Not plain "Namespace": `kubectl get -A` already prints the object's
      // own namespace under that header. Up to 63 characters: wide only.
      { name: 'Deployment-Namespace', type: 'string', jsonPath: '.status.namespace', priority: 1, description: 'Namespace of the BundleDeployments' },
      AGE,
    ],
  },
  {
    kind: Kind.ClusterGroup,
    shortNames: ['fcg'],
    columns: [
      { name: 'Clusters', type: 'integer', jsonPath: '.status.clusterCount', description: 'Member clusters' },
      { name: 'Ready', type: 'string', jsonPath: '.status.display.readyClusters', description: 'Member clusters whose BundleDeployments are all ready / members' },
      { name: 'Status', type: 'string', jsonPath: '.status.display.status', description: 'The reason that matters most: a problem of the group, else the worst member state' },
      AGE,
    ],
  },
  {
    kind: Kind.Bundle,
    shortNames: ['fb'],
    columns: [
      { name: 'Ready', type: 'string', jsonPath: '.status.display.readyClusters', description: 'Ready/desired clusters' },
      { name: 'Status', type: 'string', jsonPath: '.status.display.status', description: 'The reason that matters most: stalled, invalid, ErrApplied, Modified, Paused, held rollout, else the worst BundleDeployment state' },
      { name: 'Paused', type: 'boolean', jsonPath: '.spec.paused', description: 'Existing BundleDeployments are kept but not updated' },
      { name: 'Rollout', type: 'string', jsonPath: '.status.conditions[?(@.type=="Rollout")].reason', priority: 1, description: 'Rollout: RolledOut, or MaxUnavailable while updates are held' },
      { name: 'Content', type: 'string', jsonPath: '.status.contentName', priority: 1, description: 'Current Content' },
      AGE,
    ],
  },
  {
    kind: Kind.BundleDeployment,
    shortNames: ['fbd'],
    columns: [
      { name: 'Ready', type: 'boolean', jsonPath: '.status.ready', description: 'All resources ready' },
      { name: 'Status', type: 'string', jsonPath: '.status.display.state', description: 'Deployment state' },
      { name: 'Paused', type: 'boolean', jsonPath: '.spec.paused', description: 'The agent leaves the deployed resources as they are' },
      // "<Content name>:<options hash>", about 134 characters: wide only.
      { name: 'Deployment-ID', type: 'string', jsonPath: '.spec.deploymentID', priority: 1, description: 'Desired deployment ID' },
      { name: 'Applied', type: 'string', jsonPath: '.status.appliedDeploymentID', priority: 1, description: 'Last applied deployment ID' },
      AGE,
    ],
  },
  {
    kind: Kind.Content,
    shortNames: ['fcontent'],
    columns: [AGE],
  },
];

function buildCrd(definition: KindDefinition): CustomResourceDefinition {
  const plural = Plural[definition.kind];
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${GROUP}` },
    spec: {
      group: GROUP,
      names: {
        kind: definition.kind,
        listKind: `${definition.kind}List`,
        plural,
        singular: definition.kind.toLowerCase(),
        shortNames: [...definition.shortNames],
        categories: [CATEGORY],
      },
      scope: KindResources[definition.kind].namespaced ? 'Namespaced' : 'Cluster',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: toStructuralSchema(KindSchema[definition.kind]) },
          subresources: { status: {} },
          additionalPrinterColumns: definition.columns.map((column) => ({ ...column })),
        },
      ],
    },
  };
}

/** All Flotilla CRDs, in a fixed order. Pure: builds fresh objects each call. */
export function buildCrds(): CustomResourceDefinition[] {
  return DEFINITIONS.map(buildCrd);
}

export interface GeneratedFile {
  /** Path relative to the repository root, with `/` separators. */
  path: string;
  text: string;
}

const HEADER = '# Code generated by scripts/generate-crds.ts from src/api. DO NOT EDIT.\n';
export const CRD_DIRECTORY = 'config/crd';

export function crdFileName(crd: CustomResourceDefinition): string {
  return `bases/${crd.spec.group}_${crd.spec.names.plural}.yaml`;
}

/** Where the admission policy holding the size limits in bytes goes (see `resource-size-policy.ts`). */
export const RESOURCE_SIZE_POLICY_FILE = 'admission/resource-size-policy.yaml';

/**
 * The exact files the generator writes: one per CRD, the resource-size
 * admission policy with its binding, and the kustomization installing them
 * together (the policy is part of the API: without it the size limits only
 * hold in characters).
 */
export function renderCrdFiles(): GeneratedFile[] {
  const crds = buildCrds();
  const files = crds.map((crd) => ({
    path: `${CRD_DIRECTORY}/${crdFileName(crd)}`,
    text: HEADER + toYaml(crd),
  }));
  files.push({
    path: `${CRD_DIRECTORY}/${RESOURCE_SIZE_POLICY_FILE}`,
    text: HEADER + buildResourceSizePolicy().map(toYaml).join('---\n'),
  });
  const kustomization = {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    resources: [...crds.map(crdFileName), RESOURCE_SIZE_POLICY_FILE],
  };
  files.push({ path: `${CRD_DIRECTORY}/kustomization.yaml`, text: HEADER + toYaml(kustomization) });
  return files;
}

function toYaml(value: unknown): string {
  // lineWidth 0: never fold long descriptions or CEL rules across lines.
  return stringify(value, { lineWidth: 0 });
}

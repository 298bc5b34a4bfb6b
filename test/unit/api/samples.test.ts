import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Value } from 'typebox/value';
import { parse, parseAllDocuments } from 'yaml';
import { API_VERSION, Kind, Label, WORKSPACE_LABEL_VALUE } from '../../../src/api/constants.ts';
import { KindSchema, isFlotillaKind } from '../../../src/api/kinds.ts';
import type { Bundle } from '../../../src/api/bundle.ts';

const SAMPLES_DIR = fileURLToPath(new URL('../../../config/samples/', import.meta.url));

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: unknown;
}

async function loadSamples(): Promise<Manifest[]> {
  const kustomization = parse(await readFile(join(SAMPLES_DIR, 'kustomization.yaml'), 'utf8'));
  const manifests: Manifest[] = [];
  for (const file of kustomization.resources as string[]) {
    for (const document of parseAllDocuments(await readFile(join(SAMPLES_DIR, file), 'utf8'))) {
      assert.deepEqual(document.errors, [], file);
      manifests.push(document.toJS() as Manifest);
    }
  }
  return manifests;
}

describe('config/samples', () => {
  it('the kustomization lists every sample file', async () => {
    const kustomization = parse(await readFile(join(SAMPLES_DIR, 'kustomization.yaml'), 'utf8'));
    const files = (await readdir(SAMPLES_DIR)).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    assert.deepEqual([...kustomization.resources].sort(), files.sort());
  });

  it('every Flotilla object passes its TypeBox schema and has no unknown fields', async () => {
    const manifests = (await loadSamples()).filter((m) => m.apiVersion === API_VERSION);
    assert.ok(manifests.length >= 5);
    for (const manifest of manifests) {
      assert.ok(isFlotillaKind(manifest.kind), manifest.kind);
      const schema = KindSchema[manifest.kind];
      const where = `${manifest.kind}/${manifest.metadata.name}`;
      assert.deepEqual([...Value.Errors(schema, manifest)].map((e) => `${e.instancePath} ${e.message}`), [], where);
      // Clean drops properties the schema does not declare: a typo'd field
      // would be pruned silently by the API server, so catch it here.
      assert.deepEqual(Value.Clean(schema, structuredClone(manifest)), manifest, `${where} has unknown fields`);
    }
  });

  it('is a workspace: a labelled demo namespace holding every namespaced object', async () => {
    const manifests = await loadSamples();
    const namespace = manifests.find((m) => m.kind === 'Namespace');
    assert.equal(namespace?.metadata.name, 'demo');
    assert.equal(namespace.metadata.labels?.[Label.Workspace], WORKSPACE_LABEL_VALUE);
    for (const manifest of manifests.filter((m) => m.apiVersion === API_VERSION)) {
      assert.equal(manifest.metadata.namespace, 'demo', manifest.metadata.name);
    }
  });

  it('covers clusters with env/region labels, a ClusterGroup and the target styles', async () => {
    const manifests = await loadSamples();
    const clusters = manifests.filter((m) => m.kind === Kind.Cluster);
    // The quick start runs one local downstream cluster (and agent) per sample Cluster.
    assert.equal(clusters.length, 2);
    for (const cluster of clusters) {
      assert.ok(cluster.metadata.labels?.['env'] && cluster.metadata.labels['region'], cluster.metadata.name);
    }
    assert.ok(manifests.some((m) => m.kind === Kind.ClusterGroup));
    const bundles = manifests.filter((m): m is Manifest & Bundle => m.kind === Kind.Bundle);
    assert.ok(bundles.length >= 2 && bundles.length <= 3);
    const targets = bundles.flatMap((b) => b.spec.targets ?? []);
    assert.ok(targets.some((t) => t.clusterGroup !== undefined), 'a Bundle targeting a clusterGroup');
    assert.ok(targets.some((t) => t.doNotDeploy === true), 'a Bundle with doNotDeploy');
  });

  it('bundle resources are parseable manifests: exactly one Deployment (nginx), a Service, a CRD with custom resources of it', async () => {
    const bundles = (await loadSamples()).filter((m): m is Manifest & Bundle => m.kind === Kind.Bundle);
    const kinds: string[] = [];
    for (const bundle of bundles) {
      for (const resource of bundle.spec.resources ?? []) {
        for (const document of parseAllDocuments(resource.content)) {
          assert.deepEqual(document.errors, [], `${bundle.metadata.name}/${resource.name}`);
          const object = document.toJS() as { kind: string; metadata: { name: string } };
          kinds.push(`${object.kind}/${object.metadata.name}`);
        }
      }
    }
    assert.ok(kinds.includes('Deployment/nginx') && kinds.includes('Service/nginx'), kinds.join(', '));
    // The quick start's downstream clusters have no nodes: everything but the one Deployment becomes ready there.
    assert.deepEqual(kinds.filter((k) => /^(Deployment|Pod|StatefulSet|DaemonSet|ReplicaSet|Job|CronJob)\//.test(k)), ['Deployment/nginx']);
    assert.ok(kinds.includes('CustomResourceDefinition/scrapetargets.monitoring.demo.flotilla.dev') && kinds.includes('ScrapeTarget/web'), kinds.join(', '));
  });
});

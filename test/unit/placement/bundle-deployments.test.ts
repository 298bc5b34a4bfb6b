import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Value } from 'typebox/value';
import { BundleDeployment } from '../../../src/api/bundle-deployment.ts';
import type { BundleDeployment as BundleDeploymentObject } from '../../../src/api/bundle-deployment.ts';
import { API_VERSION, Label } from '../../../src/api/constants.ts';
import { contentNameFor } from '../../../src/api/content-name.ts';
import { deploymentIDFor } from '../../../src/api/deployment-id.ts';
import {
  bundleDeploymentID,
  desiredBundleDeployment,
  desiredBundleDeployments,
  diffBundleDeployments,
  ownedFieldChanges,
} from '../../../src/placement/bundle-deployments.ts';
import { deploymentNamespaceFor } from '../../../src/placement/deployment-namespace.ts';
import { bundle, cluster } from './fixtures.ts';

const CONTENT = contentNameFor([{ name: 'a.yaml', content: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n' }]);
const CONTENT2 = contentNameFor([{ name: 'a.yaml', content: 'changed' }]);

const app = bundle([{ clusterSelector: {} }], { options: { defaultNamespace: 'apps' } });
const c1 = cluster('c1');
const c2 = cluster('c2');
const c3 = cluster('c3');

/** What the API server would hand back: the applied object plus fields others wrote. */
function asStored(bd: BundleDeploymentObject): BundleDeploymentObject {
  const stored = structuredClone(bd);
  stored.metadata.uid = 'uid-1';
  stored.metadata.resourceVersion = '42';
  stored.metadata.labels = { ...stored.metadata.labels, 'team.example.com/owner': 'someone' };
  stored.metadata.annotations = { note: 'added by a human' };
  stored.status = { appliedDeploymentID: stored.spec.deploymentID, ready: true };
  return stored;
}

describe('desiredBundleDeployment', () => {
  it('builds the object the controller applies', () => {
    const bd = desiredBundleDeployment({ bundle: app, cluster: c1, contentName: CONTENT });
    assert.deepEqual(bd, {
      apiVersion: API_VERSION,
      kind: 'BundleDeployment',
      metadata: {
        name: 'app',
        namespace: deploymentNamespaceFor('ws', 'c1'),
        labels: {
          [Label.BundleName]: 'app',
          [Label.BundleNamespace]: 'ws',
          [Label.ClusterName]: 'c1',
          [Label.ClusterNamespace]: 'ws',
        },
      },
      spec: {
        contentName: CONTENT,
        deploymentID: deploymentIDFor(CONTENT, { defaultNamespace: 'apps' }),
        options: { defaultNamespace: 'apps' },
        paused: false,
      },
    });
    assert.ok(Value.Check(BundleDeployment, bd), 'valid against the API schema');
    assert.ok(bd.spec.deploymentID.startsWith(`${CONTENT}:`));
  });

  it('omits empty options, and {} and absent options give the same deployment ID', () => {
    const none = desiredBundleDeployment({ bundle: bundle([]), cluster: c1, contentName: CONTENT });
    const empty = desiredBundleDeployment({ bundle: bundle([], { options: {} }), cluster: c1, contentName: CONTENT });
    const undef = desiredBundleDeployment({ bundle: bundle([], { options: { defaultNamespace: undefined } }), cluster: c1, contentName: CONTENT });
    assert.equal('options' in none.spec, false);
    assert.deepEqual(empty, none);
    assert.deepEqual(undef, none);
  });

  it('changes the deployment ID with the content or the options', () => {
    const base = desiredBundleDeployment({ bundle: app, cluster: c1, contentName: CONTENT });
    const otherContent = desiredBundleDeployment({ bundle: app, cluster: c1, contentName: CONTENT2 });
    const otherOptions = desiredBundleDeployment({ bundle: app, cluster: c1, contentName: CONTENT, options: { keepResources: true } });
    assert.notEqual(otherContent.spec.deploymentID, base.spec.deploymentID);
    assert.notEqual(otherOptions.spec.deploymentID, base.spec.deploymentID);
    assert.deepEqual(otherOptions.spec.options, { keepResources: true });
  });

  it('is paused when the Bundle or the Cluster is', () => {
    const pausedBundle = bundle([], { paused: true });
    const pausedCluster = { ...c1, spec: { paused: true } };
    assert.equal(desiredBundleDeployment({ bundle: pausedBundle, cluster: c1, contentName: CONTENT }).spec.paused, true);
    assert.equal(desiredBundleDeployment({ bundle: app, cluster: pausedCluster, contentName: CONTENT }).spec.paused, true);
  });

  it('refuses to cross a workspace boundary', () => {
    assert.throws(() => desiredBundleDeployment({ bundle: app, cluster: cluster('c1', {}, 'other'), contentName: CONTENT }), /tenant boundary/);
  });

  it('bundleDeploymentID is the ID every desired BundleDeployment carries', () => {
    const id = bundleDeploymentID(app, CONTENT);
    for (const bd of desiredBundleDeployments(app, [c1, c2], CONTENT)) assert.equal(bd.spec.deploymentID, id);
    assert.equal(bundleDeploymentID(bundle([], { options: {} }), CONTENT), bundleDeploymentID(bundle([]), CONTENT));
    assert.notEqual(bundleDeploymentID(bundle([]), CONTENT), id);
  });

  it('desiredBundleDeployments sorts by namespace/name', () => {
    const all = desiredBundleDeployments(app, [c3, c1, c2], CONTENT);
    const keys = all.map((bd) => `${bd.metadata.namespace}/${bd.metadata.name}`);
    assert.deepEqual(keys, [...keys].sort());
    assert.equal(all.length, 3);
  });
});

describe('diffBundleDeployments', () => {
  const desired = desiredBundleDeployments(app, [c1, c2, c3], CONTENT);
  const [d1, d2, d3] = desired as [BundleDeploymentObject, BundleDeploymentObject, BundleDeploymentObject];

  it('creates everything from scratch', () => {
    const diff = diffBundleDeployments(desired, []);
    assert.deepEqual(diff.create, desired);
    assert.deepEqual([diff.update, diff.delete, diff.unchanged, diff.retained, diff.waiting], [[], [], [], [], []]);
  });

  it('an applied world is unchanged, whatever others wrote (status, labels, annotations)', () => {
    const existing = desired.map(asStored);
    const diff = diffBundleDeployments(desired, existing);
    assert.deepEqual(diff.unchanged, existing);
    assert.deepEqual([diff.create, diff.update, diff.delete], [[], [], []]);
  });

  it('after a crash halfway, only the missing ones are created (no duplicates)', () => {
    const diff = diffBundleDeployments(desired, [asStored(d2)]);
    assert.deepEqual(diff.create, [d1, d3]);
    assert.equal(diff.unchanged.length, 1);
  });

  it('updates when an owned field differs, and says which', () => {
    const stale = asStored(desiredBundleDeployment({ bundle: app, cluster: c1, contentName: CONTENT2 }));
    const relabelled = asStored(d2);
    delete relabelled.metadata.labels![Label.ClusterName];
    const unpaused = asStored(d3);
    unpaused.spec.paused = true;
    const diff = diffBundleDeployments(desired, [stale, relabelled, unpaused]);
    assert.deepEqual(
      diff.update.map((u) => [u.desired.metadata.namespace, u.changes]),
      [
        [d1.metadata.namespace, ['spec.contentName', 'spec.deploymentID']],
        [d2.metadata.namespace, [`metadata.labels[${Label.ClusterName}]`]],
        [d3.metadata.namespace, ['spec.paused']],
      ],
    );
    assert.equal(diff.update[0]?.existing, stale);
  });

  it('treats absent paused as false and absent options as {}', () => {
    const plain = desiredBundleDeployment({ bundle: bundle([]), cluster: c1, contentName: CONTENT });
    const stored = asStored(plain);
    delete stored.spec.paused;
    stored.spec.options = {};
    assert.deepEqual(ownedFieldChanges(plain, stored), []);
  });

  it('compares options regardless of key order', () => {
    const want = desiredBundleDeployment({ bundle: app, cluster: c1, contentName: CONTENT, options: { keepResources: true, defaultNamespace: 'x' } });
    const stored = asStored(want);
    stored.spec.options = { defaultNamespace: 'x', keepResources: true };
    assert.deepEqual(ownedFieldChanges(want, stored), []);
    stored.spec.options = { defaultNamespace: 'x' };
    assert.deepEqual(ownedFieldChanges(want, stored), ['spec.options']);
  });

  it('deletes BundleDeployments of Clusters no longer targeted', () => {
    const gone = asStored(desiredBundleDeployment({ bundle: app, cluster: cluster('c0'), contentName: CONTENT }));
    const diff = diffBundleDeployments(desired, [gone, ...desired.map(asStored)]);
    assert.deepEqual(diff.delete, [gone]);
    assert.equal(diff.unchanged.length, 3);
  });

  it('waits for a BundleDeployment being deleted instead of creating or updating it', () => {
    const terminating = asStored(d1);
    terminating.metadata.deletionTimestamp = '2025-01-01T00:00:00Z';
    const orphanTerminating = asStored(desiredBundleDeployment({ bundle: app, cluster: cluster('c0'), contentName: CONTENT }));
    orphanTerminating.metadata.deletionTimestamp = '2025-01-01T00:00:00Z';
    const diff = diffBundleDeployments([d1], [terminating, orphanTerminating]);
    assert.deepEqual(diff.waiting, [{ desired: d1, existing: terminating }]);
    assert.deepEqual([diff.create, diff.update, diff.delete], [[], [], []]);
  });

  describe('paused', () => {
    const pausedApp = { ...app, spec: { ...app.spec, paused: true } };
    const pausedDesired = desiredBundleDeployments(pausedApp, [c1, c2], CONTENT2);

    it('keeps existing BundleDeployments as they are, creates missing ones paused, deletes nothing', () => {
      const existing1 = asStored(d1); // old content, not paused
      const gone = asStored(desiredBundleDeployment({ bundle: app, cluster: c3, contentName: CONTENT })); // c3 no longer targeted
      const diff = diffBundleDeployments(pausedDesired, [existing1, gone], { bundlePaused: true });
      assert.deepEqual(diff.update, []);
      assert.deepEqual(diff.delete, []);
      assert.deepEqual(diff.create.map((bd) => [bd.metadata.labels?.[Label.ClusterName], bd.spec.paused]), [['c2', true]]);
      assert.deepEqual(
        diff.retained.map((r) => [r.existing.metadata.labels?.[Label.ClusterName], r.desired === undefined, r.changes]),
        [
          ['c1', false, ['spec.contentName', 'spec.deploymentID', 'spec.paused']],
          ['c3', true, []],
        ],
      );
    });

    it('a paused Cluster keeps its BundleDeployments of an unpaused Bundle', () => {
      const pausedC1 = { ...c1, spec: { paused: true } };
      const want = desiredBundleDeployments(app, [pausedC1, c2], CONTENT2);
      const stale = desired.slice(0, 2).map(asStored);
      const diff = diffBundleDeployments(want, stale);
      assert.deepEqual(diff.retained.map((r) => r.existing), [stale[0]]);
      assert.deepEqual(diff.update.map((u) => u.existing), [stale[1]]);
      const untargeted = diffBundleDeployments([], stale, { pausedClusters: new Set(['c1']) });
      assert.deepEqual(untargeted.retained.map((r) => r.existing), [stale[0]]);
      assert.deepEqual(untargeted.delete, [stale[1]]);
    });

    it('unpausing updates the retained ones', () => {
      const existing = asStored(d1);
      const diff = diffBundleDeployments(desiredBundleDeployments(app, [c1], CONTENT2), [existing]);
      assert.deepEqual(diff.update.map((u) => u.changes), [['spec.contentName', 'spec.deploymentID']]);
    });
  });

  it('gives the same plan whatever the input order', () => {
    const existing = [asStored(d3), asStored(desiredBundleDeployment({ bundle: app, cluster: cluster('c0'), contentName: CONTENT }))];
    const a = diffBundleDeployments(desired, existing);
    const b = diffBundleDeployments([...desired].reverse(), [...existing].reverse());
    assert.deepEqual(a, b);
  });
});

describe('options.correctDrift and the deployment ID', () => {
  // The ID a Bundle with these options had before correctDrift existed: the hash of its options.
  const before = deploymentIDFor(CONTENT, { defaultNamespace: 'apps' });
  const withOptions = (options: Record<string, unknown>) => bundle([{ clusterSelector: {} }], { options });

  it('absent (or not enabled) keeps every existing deployment ID unchanged', () => {
    assert.equal(bundleDeploymentID(withOptions({ defaultNamespace: 'apps' }), CONTENT), before);
    for (const correctDrift of [{}, { enabled: false }, undefined]) {
      const b = withOptions({ defaultNamespace: 'apps', correctDrift });
      assert.equal(bundleDeploymentID(b, CONTENT), before, JSON.stringify(correctDrift));
      const bd = desiredBundleDeployment({ bundle: b, cluster: c1, contentName: CONTENT });
      assert.equal(bd.spec.deploymentID, before);
      assert.deepEqual(bd.spec.options, { defaultNamespace: 'apps' }, 'nothing new reaches the BundleDeployment');
    }
    assert.equal(bundleDeploymentID(bundle([{ clusterSelector: {} }], { options: { correctDrift: { enabled: false } } }), CONTENT), deploymentIDFor(CONTENT, undefined));
  });

  it('enabled changes the deployment ID (the agent re-applies) and is copied to the BundleDeployment', () => {
    const b = withOptions({ defaultNamespace: 'apps', correctDrift: { enabled: true } });
    const id = bundleDeploymentID(b, CONTENT);
    assert.notEqual(id, before);
    assert.ok(id.startsWith(`${CONTENT}:`));
    const bd = desiredBundleDeployment({ bundle: b, cluster: c1, contentName: CONTENT });
    assert.equal(bd.spec.deploymentID, id);
    assert.deepEqual(bd.spec.options, { correctDrift: { enabled: true }, defaultNamespace: 'apps' });
    assert.ok(Value.Check(BundleDeployment, bd), 'the schema accepts it');
  });
});

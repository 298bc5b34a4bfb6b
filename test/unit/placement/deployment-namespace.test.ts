import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Label } from '../../../src/api/constants.ts';
import { deploymentNamespaceFor, deploymentNamespaceLabels } from '../../../src/placement/deployment-namespace.ts';
import { seededRandom } from './fixtures.ts';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function assertValid(name: string): void {
  assert.ok(name.length <= 63, `${name} is ${name.length} characters`);
  assert.match(name, DNS1123_LABEL);
  assert.ok(name.startsWith('flotilla-'), name);
}

const hash8 = (ws: string, cluster: string) => createHash('sha256').update(`${ws}/${cluster}`).digest('hex').slice(0, 8);

describe('deploymentNamespaceFor', () => {
  it('is flotilla-<workspace>-<cluster>-<8 hex of sha256("ws/cluster")>', () => {
    assert.equal(deploymentNamespaceFor('team-a', 'edge-1'), `flotilla-team-a-edge-1-${hash8('team-a', 'edge-1')}`);
  });

  it('is deterministic', () => {
    assert.equal(deploymentNamespaceFor('ws', 'c'), deploymentNamespaceFor('ws', 'c'));
  });

  it('tells apart pairs whose readable parts coincide', () => {
    assert.notEqual(deploymentNamespaceFor('a-b', 'c'), deploymentNamespaceFor('a', 'b-c'));
    assert.notEqual(deploymentNamespaceFor('ws', 'My.Cluster'), deploymentNamespaceFor('ws', 'my-cluster'));
  });

  it('shortens long names to 63 characters, sharing the room fairly', () => {
    const long = 'x'.repeat(63);
    const both = deploymentNamespaceFor(long, 'y'.repeat(63));
    assertValid(both);
    assert.equal(both.length, 63);
    assert.match(both, /^flotilla-x{22}-y{22}-[0-9a-f]{8}$/);
    // A short part keeps all of it; the long one gets the rest.
    const shortWs = deploymentNamespaceFor('ws', long);
    assert.match(shortWs, /^flotilla-ws-x{42}-[0-9a-f]{8}$/);
    const shortCluster = deploymentNamespaceFor(long, 'c1');
    assert.match(shortCluster, /^flotilla-x{42}-c1-[0-9a-f]{8}$/);
  });

  it('does not leave a dash where it cut', () => {
    const name = deploymentNamespaceFor('a'.repeat(21) + '-bbbb', 'c'.repeat(40));
    assertValid(name);
    assert.match(name, /^flotilla-a{21}-c{22}-[0-9a-f]{8}$/);
  });

  const oddInputs: [string, string][] = [
    ['', ''],
    ['ws', ''],
    ['', 'c'],
    ['---', '...'],
    ['UPPER', 'Case'],
    ['ws', 'with space/and slash'],
    ['ünïcödé', '日本語'],
    ['İstanbul', 'ǅ'],
    ['ws', '-leading-and-trailing-'],
    ['a'.repeat(500), 'b'.repeat(500)],
    ['\u0000', '\uffff'],
  ];
  for (const [ws, cluster] of oddInputs) {
    it(`handles ${JSON.stringify([ws.slice(0, 12), cluster.slice(0, 12)])}`, () => {
      const name = deploymentNamespaceFor(ws, cluster);
      assertValid(name);
      assert.ok(name.endsWith(`-${hash8(ws, cluster)}`), name);
      assert.equal(deploymentNamespaceFor(ws, cluster), name);
    });
  }

  it('10,000 random pairs: all valid, no collisions', () => {
    const random = seededRandom(7);
    const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789-.ABC_é ';
    const randomName = () => {
      const length = 1 + Math.floor(random() * (random() < 0.2 ? 120 : 20));
      let out = '';
      for (let i = 0; i < length; i++) out += alphabet[Math.floor(random() * alphabet.length)];
      return out;
    };
    const seen = new Map<string, string>();
    const pairs = new Set<string>();
    for (let attempts = 0; pairs.size < 10_000; attempts++) {
      assert.ok(attempts < 20_000, 'the generator yields enough distinct pairs');
      const ws = randomName();
      const cluster = randomName();
      const pair = JSON.stringify([ws, cluster]);
      if (pairs.has(pair)) continue;
      pairs.add(pair);
      const name = deploymentNamespaceFor(ws, cluster);
      assertValid(name);
      const previous = seen.get(name);
      assert.equal(previous, undefined, `${pair} collides with ${previous}`);
      seen.set(name, pair);
    }
    assert.equal(seen.size, 10_000);
  });

  it('many clusters of one workspace with a long shared prefix stay distinct', () => {
    const names = new Set<string>();
    for (let i = 0; i < 10_000; i++) names.add(deploymentNamespaceFor('workspace', `cluster-with-a-very-long-common-prefix-${i}`));
    assert.equal(names.size, 10_000);
  });
});

describe('deploymentNamespaceLabels', () => {
  it('labels the namespace with its owner', () => {
    assert.deepEqual(deploymentNamespaceLabels('ws', 'c1'), {
      [Label.ManagedBy]: 'flotilla',
      [Label.ClusterName]: 'c1',
      [Label.ClusterNamespace]: 'ws',
    });
  });
});

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { contentDigest, contentNameFor } from '../../../src/api/content-name.ts';
import { canonicalJson, deploymentIDFor } from '../../../src/api/deployment-id.ts';
import { CONTENT_NAME_PATTERN, DEPLOYMENT_ID_PATTERN } from '../../../src/api/patterns.ts';

/** contentDigest([deployment, service]) under the v1 encoding. */
const PINNED_DIGEST = 'aa9e23b224b4a9e1b31aa7039ebae621f9e29e0cb50adcd46f28d1f6d97e051d';

const deployment = { name: 'deployment.yaml', content: 'kind: Deployment\n' };
const service = { name: 'service.yaml', content: 'kind: Service\n' };

describe('contentNameFor', () => {
  it('is "s-" plus the SHA-256 hex digest and matches the Content name pattern', () => {
    const name = contentNameFor([deployment, service]);
    assert.equal(name, `s-${contentDigest([deployment, service])}`);
    assert.match(name, new RegExp(CONTENT_NAME_PATTERN));
  });

  it('is stable: pinned values for the v1 encoding (a change here orphans every Content)', () => {
    assert.equal(
      contentNameFor([]),
      `s-${createHash('sha256').update('flotilla.dev/content/v1\n').digest('hex')}`,
    );
    assert.equal(contentNameFor([deployment, service]), contentNameFor([{ ...deployment }, { ...service }]));
    assert.equal(contentDigest([deployment, service]), PINNED_DIGEST);
  });

  it('follows the documented length-prefixed encoding', () => {
    const field = (text: string) => {
      const bytes = Buffer.from(text, 'utf8');
      const length = Buffer.alloc(4);
      length.writeUInt32BE(bytes.length);
      return Buffer.concat([length, bytes]);
    };
    const resources = [{ name: 'ü.yaml', content: 'a: "☃"\n' }, service];
    const expected = createHash('sha256')
      .update(Buffer.concat([
        Buffer.from('flotilla.dev/content/v1\n'),
        ...resources.flatMap((r) => [field(r.name), field(r.content)]),
      ]))
      .digest('hex');
    assert.equal(contentDigest(resources), expected);
  });

  it('is order-sensitive: the agent applies resources in list order', () => {
    assert.notEqual(contentNameFor([deployment, service]), contentNameFor([service, deployment]));
  });

  it('changes with any name or content change', () => {
    const base = contentNameFor([deployment]);
    assert.notEqual(contentNameFor([{ ...deployment, name: 'deploy.yaml' }]), base);
    assert.notEqual(contentNameFor([{ ...deployment, content: `${deployment.content} ` }]), base);
    assert.notEqual(contentNameFor([deployment, { name: 'empty.yaml', content: '' }]), base);
  });

  it('cannot be forged by moving text across the name/content boundary', () => {
    assert.notEqual(
      contentNameFor([{ name: 'ab', content: 'c' }]),
      contentNameFor([{ name: 'a', content: 'bc' }]),
    );
    assert.notEqual(
      contentNameFor([{ name: 'a', content: 'b' }, { name: 'c', content: 'd' }]),
      contentNameFor([{ name: 'a', content: 'b\u0000\u0000\u0000\u0001c\u0000\u0000\u0000\u0001d' }]),
    );
  });

  it('ignores fields other than name and content', () => {
    const withExtra = { ...deployment, note: 'x' } as typeof deployment;
    assert.equal(contentNameFor([withExtra]), contentNameFor([deployment]));
  });
});

describe('deploymentIDFor', () => {
  const content = contentNameFor([deployment]);

  it('is "<contentName>:<options hash>" and matches the deployment ID pattern', () => {
    const id = deploymentIDFor(content, { defaultNamespace: 'web' });
    assert.ok(id.startsWith(`${content}:`));
    assert.match(id, new RegExp(DEPLOYMENT_ID_PATTERN));
  });

  it('does not depend on key order or undefined members, but on every option value', () => {
    const a = deploymentIDFor(content, { defaultNamespace: 'web', keepResources: true });
    const b = deploymentIDFor(content, { keepResources: true, defaultNamespace: 'web', serviceAccount: undefined });
    assert.equal(a, b);
    assert.notEqual(deploymentIDFor(content, { defaultNamespace: 'web', keepResources: false }), a);
    assert.equal(deploymentIDFor(content, undefined), deploymentIDFor(content, {}));
    assert.notEqual(deploymentIDFor(contentNameFor([service]), {}), deploymentIDFor(content, {}));
  });

  it('canonicalJson sorts keys recursively', () => {
    assert.equal(canonicalJson({ b: [{ d: 1, c: 2 }], a: null }), '{"a":null,"b":[{"c":2,"d":1}]}');
  });
});


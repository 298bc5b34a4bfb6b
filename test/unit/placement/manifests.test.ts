import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { describeManifestError, parseManifests } from '../../../src/placement/manifests.ts';

const cm = (name: string, extra = '') => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n${extra}`;

describe('parseManifests', () => {
  it('reads a multi-document YAML stream, skipping empty and comment-only documents', () => {
    const parsed = parseManifests(`---\n${cm('a')}---\n# only a comment\n---\n\n---\n${cm('b', '  namespace: apps\n')}`);
    assert.deepEqual(parsed.errors, []);
    assert.deepEqual(
      parsed.manifests.map((m) => [m.kind, m.name, m.namespace ?? null, m.document]),
      [
        ['ConfigMap', 'a', null, 1],
        ['ConfigMap', 'b', 'apps', 4],
      ],
    );
  });

  it('reads JSON', () => {
    const parsed = parseManifests('  {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"x"}}');
    assert.deepEqual(parsed.errors, []);
    assert.deepEqual(parsed.manifests.map((m) => [m.apiVersion, m.kind, m.namespace, m.name]), [['apps/v1', 'Deployment', 'x', 'web']]);
  });

  it('accepts flow-style YAML that starts with "{" but reports broken JSON as JSON', () => {
    assert.equal(parseManifests('{apiVersion: v1, kind: ConfigMap, metadata: {name: a}}').manifests.length, 1);
    const broken = parseManifests('{"apiVersion": "v1",\n "kind": }');
    assert.equal(broken.manifests.length, 0);
    assert.match(broken.errors[0]?.message ?? '', /^invalid JSON: /);
    assert.doesNotMatch(broken.errors[0]?.message ?? '', /\n/);
  });

  it('reports a YAML syntax error with document and line, and keeps parsing the others', () => {
    const parsed = parseManifests(`${cm('a')}---\nkey: [unclosed\n---\n${cm('c')}`);
    assert.deepEqual(parsed.manifests.map((m) => m.name), ['a', 'c']);
    assert.equal(parsed.errors.length, 1);
    const error = parsed.errors[0]!;
    assert.equal(error.document, 2);
    assert.match(describeManifestError(error), /^document 2 \(line \d+\): invalid YAML: /);
  });

  it('rejects duplicate keys, as strict decoding does', () => {
    const parsed = parseManifests(`${cm('a')}metadata:\n  name: b\n`);
    assert.match(parsed.errors[0]?.message ?? '', /invalid YAML: Map keys must be unique/);
  });

  it('rejects alias bombs and unresolved aliases without hanging', () => {
    let bomb = 'a: &a ["x","x","x","x","x","x","x","x","x","x"]\n';
    for (let i = 0; i < 9; i++) {
      const prev = String.fromCharCode(97 + i);
      const next = String.fromCharCode(98 + i);
      bomb += `${next}: &${next} [${Array(10).fill(`*${prev}`).join(',')}]\n`;
    }
    assert.match(parseManifests(bomb).errors[0]?.message ?? '', /invalid YAML: .*alias/i);
    assert.match(parseManifests('x: *nope\n').errors[0]?.message ?? '', /invalid YAML: Unresolved alias/);
  });

  const shapeCases: [string, string, RegExp][] = [
    ['a scalar', 'just text\n', /must be a Kubernetes object .* not a string/],
    ['a list', '- a\n- b\n', /not a list/],
    ['no apiVersion', 'kind: X\nmetadata:\n  name: a\n', /^apiVersion is missing/],
    ['no kind and no name', 'apiVersion: v1\nmetadata: {}\n', /^kind, metadata\.name are missing/],
    ['numeric name', 'apiVersion: v1\nkind: X\nmetadata:\n  name: 12\n', /metadata\.name is missing or not a non-empty string/],
    ['generateName only', 'apiVersion: v1\nkind: X\nmetadata:\n  generateName: a-\n', /generateName cannot be used/],
    ['a List', 'apiVersion: v1\nkind: List\nitems: []\n', /list objects are not supported/],
    ['namespace not a string', 'apiVersion: v1\nkind: X\nmetadata:\n  name: a\n  namespace: [x]\n', /metadata\.namespace must be a string/],
  ];
  for (const [name, content, want] of shapeCases) {
    it(`rejects ${name}`, () => {
      const parsed = parseManifests(content);
      assert.equal(parsed.manifests.length, 0);
      assert.match(parsed.errors[0]?.message ?? '', want);
    });
  }

  it('returns nothing for empty content', () => {
    assert.deepEqual(parseManifests(''), { manifests: [], errors: [] });
    assert.deepEqual(parseManifests('# nothing\n'), { manifests: [], errors: [] });
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Value } from 'typebox/value';
import { BundleSpec } from '../../../src/api/bundle.ts';
import { InputError } from '../../../src/apply/problems.ts';
import { loadBundleSettings, parseBundleSettings } from '../../../src/apply/settings.ts';
import { makeTree } from './fixture.ts';

const FILE = 'app/flotilla.yaml';

function problemsOf(text: string): string[] {
  try {
    parseBundleSettings(text, FILE);
  } catch (error) {
    assert.ok(error instanceof InputError, String(error));
    return error.message.split('\n');
  }
  assert.fail('expected an InputError');
}

describe('flotilla.yaml settings', () => {
  it('accepts every Bundle setting and returns them as given, valid against the Bundle spec schema', () => {
    const settings = parseBundleSettings(
      [
        'labels: {team: web}',
        'annotations: {example.com/owner: "web team"}',
        'targets:',
        '  - name: prod',
        '    clusterSelector: {matchExpressions: [{key: env, operator: In, values: [prod]}]}',
        '  - clusterGroup: staging',
        '    doNotDeploy: true',
        'paused: false',
        'options: {defaultNamespace: web, keepResources: true, correctDrift: {enabled: true}}',
        'rolloutStrategy: {maxUnavailable: "25%"}',
      ].join('\n'),
      FILE,
    );
    assert.deepEqual(settings, {
      labels: { team: 'web' },
      annotations: { 'example.com/owner': 'web team' },
      targets: [
        { name: 'prod', clusterSelector: { matchExpressions: [{ key: 'env', operator: 'In', values: ['prod'] }] } },
        { clusterGroup: 'staging', doNotDeploy: true },
      ],
      paused: false,
      options: { defaultNamespace: 'web', keepResources: true, correctDrift: { enabled: true } },
      rolloutStrategy: { maxUnavailable: '25%' },
    });
    const { labels: _labels, annotations: _annotations, ...spec } = settings;
    assert.ok(Value.Check(BundleSpec, spec));
  });

  it('takes an empty file, a comment-only file and null fields as no settings', () => {
    assert.deepEqual(parseBundleSettings('', FILE), {});
    assert.deepEqual(parseBundleSettings('# targets come later\n', FILE), {});
    assert.deepEqual(parseBundleSettings('targets:\npaused:\n', FILE), {});
  });

  it('names the file, the field and the line of every problem at once, in line order', () => {
    const lines = problemsOf(
      [
        'target: []', // 1
        'targets:', // 2
        '  - name: Prod', // 3
        '    clusterSelector: {matchLabels: {env: prod}}', // 4
        '  - clusterSelecter: {}', // 5
        '  - name: nothing', // 6
        '  - clusterSelector:', // 7
        '      matchExpressions:', // 8
        '        - {key: env, operator: In}', // 9
        'paused: "yes"', // 10
        'rolloutStrategy: {maxUnavailable: 200%}', // 11
        'labels: {"bad key!": x}', // 12
      ].join('\n'),
    );
    assert.deepEqual(lines, [
      `${FILE}:1: target is not a known field (did you mean "targets"?); flotilla.yaml holds labels, annotations, targets, paused, options, rolloutStrategy`,
      `${FILE}:3: targets[0].name must be a DNS-1123 label (at most 63 lower-case letters, digits or '-', starting and ending with a letter or digit), got "Prod"`,
      `${FILE}:5: targets[1].clusterSelecter is not a known field (did you mean "clusterSelector"?); targets[1] takes name, clusterSelector, clusterGroup, clusterGroupSelector, clusterName, doNotDeploy`,
      `${FILE}:6: targets[2]: the target sets none of clusterSelector, clusterGroup, clusterGroupSelector or clusterName, so it matches no Cluster; add one (clusterSelector: {} selects every Cluster of the workspace)`,
      `${FILE}:9: targets[3].clusterSelector.matchExpressions[0].values: Required value: must be specified when \`operator\` is 'In' or 'NotIn'`,
      `${FILE}:10: paused must be true or false, got "yes"`,
      `${FILE}:11: rolloutStrategy.maxUnavailable must be an integer of at least 0 or a percentage from 0% to 100% (e.g. "25%"), got "200%"`,
      `${FILE}:12: key "bad key!" in labels must be a label key (an optional DNS subdomain prefix and '/', then at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit)`,
    ]);
  });

  it('reports YAML syntax errors and duplicate keys with their line', () => {
    assert.deepEqual(problemsOf('targets:\n  - clusterGroup: a\n    clusterGroup: b\n'), [`${FILE}:3: invalid YAML: Map keys must be unique`]);
    const [syntax] = problemsOf('options: {defaultNamespace: web\npaused: true\n');
    assert.match(syntax ?? '', new RegExp(`^${FILE}:\\d+: invalid YAML: `));
  });

  it('refuses a file that is not a mapping', () => {
    assert.deepEqual(problemsOf('- clusterGroup: prod\n'), [
      `${FILE}:1: must be a mapping of Bundle settings (labels, annotations, targets, paused, options, rolloutStrategy), not [{"clusterGroup":"prod"}]`,
    ]);
  });

  it('loadBundleSettings: no flotilla.yaml is no settings', async (t) => {
    const tree = makeTree({ 'with/flotilla.yaml': 'paused: true\n', 'without/cm.yaml': '' });
    t.after(tree.cleanup);
    assert.deepEqual(await loadBundleSettings(`${tree.dir}/without`), { settings: {}, file: undefined });
    assert.deepEqual(await loadBundleSettings(`${tree.dir}/with`), { settings: { paused: true }, file: `${tree.dir}/with/flotilla.yaml` });
  });
});

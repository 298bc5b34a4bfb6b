import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../../src/config/errors.ts';
import { parseConfigText } from '../../../src/config/load.ts';
import { defaultConfig } from '../../../src/config/defaults.ts';
import { parseConfig, validateConfig } from '../../../src/config/validate.ts';

const FILE = 'config/flotilla.yaml';

function problems(yaml: string): ConfigError {
  try {
    parseConfigText(yaml, FILE);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail(`expected the configuration to be rejected:\n${yaml}`);
}

describe('config defaults', () => {
  it('an empty file yields every default', () => {
    const config = parseConfigText('', FILE);
    assert.deepEqual(config, defaultConfig());
    assert.equal(config.workspaces.mode, 'selector');
    assert.deepEqual(config.workspaces.selector, { matchLabels: { 'flotilla.dev/workspace': 'true' } });
    assert.equal(config.workspaces.offboard, 'retain');
    assert.equal(config.concurrency.maxConcurrentReconciles, 64);
    assert.equal(config.concurrency.poolThreads, 'auto');
    assert.equal(config.api.qps, 0);
    assert.equal(config.backoff.baseDelayMs, 5);
    assert.equal(config.backoff.maxDelayMs, 1_000_000);
    assert.deepEqual(config.backoff.reflector, { initialDelayMs: 800, maxDelayMs: 30_000, resetAfterSeconds: 120, jitter: 1 });
    assert.equal(config.leaderElection.enabled, true);
    assert.equal(config.leaderElection.namespace, 'flotilla-system');
    assert.equal(config.leaderElection.leaseName, 'flotilla-controller');
    assert.deepEqual(
      [config.leaderElection.leaseDurationSeconds, config.leaderElection.renewDeadlineSeconds, config.leaderElection.retryPeriodSeconds],
      [15, 10, 2],
    );
    assert.equal(config.metrics.bindAddress, ':8443');
    assert.equal(config.metrics.secure, true);
    assert.equal(config.metrics.certDir, '');
    assert.equal(config.health.bindAddress, ':8081');
    assert.equal(config.log.level, 'info');
  });

  it('fills the fields a partial section leaves out', () => {
    const config = parseConfigText('concurrency:\n  maxConcurrentReconciles: 8\n', FILE);
    assert.equal(config.concurrency.maxConcurrentReconciles, 8);
    assert.equal(config.concurrency.poolQueueSize, defaultConfig().concurrency.poolQueueSize);
    assert.equal(config.api.burst, defaultConfig().api.burst);
  });

  it('treats an empty key (YAML null) as absent, like a commented-out section', () => {
    const config = parseConfigText('concurrency:\napi:\n  qps:\n', FILE);
    assert.deepEqual(config.concurrency, defaultConfig().concurrency);
    assert.equal(config.api.qps, 0);
  });

  it('lets plain-HTTP metrics share the health address, and disabled endpoints never conflict', () => {
    const shared = parseConfigText('metrics:\n  bindAddress: ":9000"\n  secure: false\nhealth:\n  bindAddress: ":9000"\n', FILE);
    assert.equal(shared.health.bindAddress, ':9000');
    const anyPort = parseConfigText('metrics:\n  bindAddress: "127.0.0.1:0"\nhealth:\n  bindAddress: "127.0.0.1:0"\n', FILE);
    assert.equal(anyPort.metrics.secure, true, 'port 0: each server gets its own free port');
    const disabled = parseConfigText('metrics:\n  bindAddress: "0"\nhealth:\n  bindAddress: "0"\n', FILE);
    assert.equal(disabled.metrics.bindAddress, '0');
    const withCerts = parseConfigText('metrics:\n  certDir: /etc/certs\n', FILE);
    assert.equal(withCerts.metrics.certDir, '/etc/certs');
  });

  it('accepts an unquoted 0 as "disabled" for bind addresses', () => {
    const config = parseConfigText('metrics:\n  bindAddress: 0\nhealth:\n  bindAddress: 127.0.0.1:0\n', FILE);
    assert.equal(config.metrics.bindAddress, 0);
    assert.equal(config.health.bindAddress, '127.0.0.1:0');
  });

  it('returns a frozen configuration', () => {
    const config = parseConfig({ concurrency: { maxConcurrentReconciles: 3 } });
    assert.throws(() => {
      (config.concurrency as { maxConcurrentReconciles: number }).maxConcurrentReconciles = 4;
    }, TypeError);
  });

  it('does not modify the document it validates', () => {
    const document = { concurrency: { maxConcurrentReconciles: 3 } };
    parseConfig(document);
    assert.deepEqual(document, { concurrency: { maxConcurrentReconciles: 3 } });
  });
});

describe('config validation messages', () => {
  const cases: { name: string; yaml: string; expect: string[]; count?: number }[] = [
    {
      name: 'out of range (the documented example, verbatim)',
      yaml: 'concurrency:\n  maxConcurrentReconciles: 0\n',
      expect: [`${FILE}: concurrency.maxConcurrentReconciles must be an integer between 1 and 10000, got 0`],
    },
    {
      name: 'wrong type: a quoted number',
      yaml: 'concurrency:\n  maxConcurrentReconciles: "64"\n',
      expect: ['concurrency.maxConcurrentReconciles must be an integer between 1 and 10000, got "64"'],
    },
    {
      name: 'wrong type: a fraction where an integer is needed',
      yaml: 'api:\n  burst: 2.5\n',
      expect: ['api.burst must be an integer between 1 and 1000000, got 2.5'],
    },
    {
      name: 'union of a keyword and a range',
      yaml: 'concurrency:\n  poolThreads: 0\n',
      expect: ['concurrency.poolThreads must be "auto" or an integer between 1 and 256, got 0'],
    },
    {
      name: 'exclusive minimum',
      yaml: 'shutdown:\n  timeoutSeconds: 0\n',
      expect: ['shutdown.timeoutSeconds must be a number greater than 0 and at most 3600, got 0'],
    },
    {
      name: 'unknown field with a typo: suggests the sibling',
      yaml: 'concurrency:\n  maxConcurentReconciles: 3\n',
      expect: [
        'concurrency.maxConcurentReconciles is not a known field (did you mean "maxConcurrentReconciles"?)',
        'fields of concurrency are: maxConcurrentReconciles, adaptive, minConcurrentReconciles, poolThreads',
      ],
    },
    {
      name: 'unknown field in the wrong section: suggests the full path',
      yaml: 'max_concurrent_reconciles: 3\n',
      expect: ['max_concurrent_reconciles is not a known field (did you mean "concurrency.maxConcurrentReconciles"?)'],
    },
    {
      name: 'unknown field without a near match: lists the allowed ones',
      yaml: 'leaderElection:\n  bogus: true\n',
      expect: ['leaderElection.bogus is not a known field; fields of leaderElection are: enabled, namespace, leaseName'],
    },
    {
      name: 'bad enum',
      yaml: 'workspaces:\n  mode: Selector\n',
      expect: ['workspaces.mode must be one of "selector", "static", "all", got "Selector"'],
    },
    {
      name: 'bad log level',
      yaml: 'log:\n  level: verbose\n',
      expect: ['log.level must be one of "trace", "debug", "info", "warn", "error", "fatal", "silent", got "verbose"'],
    },
    {
      name: 'leader election: renew deadline not below lease duration',
      yaml: 'leaderElection:\n  leaseDurationSeconds: 10\n  renewDeadlineSeconds: 10\n',
      expect: ['leaderElection.renewDeadlineSeconds must be less than leaderElection.leaseDurationSeconds (10), got 10'],
    },
    {
      name: 'leader election: retry period not below renew deadline',
      yaml: 'leaderElection:\n  retryPeriodSeconds: 12\n',
      expect: ['leaderElection.retryPeriodSeconds must be less than leaderElection.renewDeadlineSeconds (10), got 12'],
    },
    {
      name: 'bad selector: In without values',
      yaml: 'workspaces:\n  selector:\n    matchExpressions:\n      - key: team\n        operator: In\n',
      expect: ['workspaces.selector.matchExpressions[0].values must list at least one value when operator is "In", got nothing'],
    },
    {
      name: 'bad selector: Exists with values',
      yaml: 'workspaces:\n  selector:\n    matchExpressions:\n      - {key: team, operator: Exists, values: [a]}\n',
      expect: ['workspaces.selector.matchExpressions[0].values must be empty when operator is "Exists", got ["a"]'],
    },
    {
      name: 'bad selector: operator',
      yaml: 'workspaces:\n  selector:\n    matchExpressions:\n      - {key: team, operator: in, values: [a]}\n',
      expect: ['workspaces.selector.matchExpressions[0].operator must be one of "In", "NotIn", "Exists", "DoesNotExist", got "in"'],
    },
    {
      name: 'bad selector: label key and value',
      yaml: 'workspaces:\n  selector:\n    matchLabels:\n      "Bad Key": "x"\n      team: "not valid!"\n',
      expect: [
        'key "Bad Key" in workspaces.selector.matchLabels must be a label key',
        'workspaces.selector.matchLabels.team must be a label value',
      ],
      count: 2,
    },
    {
      name: 'bad selector: unknown selector field',
      yaml: 'workspaces:\n  selector:\n    matchLabel: {a: b}\n',
      expect: ['workspaces.selector.matchLabel is not a known field (did you mean "matchLabels"?)'],
    },
    {
      name: 'api transport: unknown HTTP version',
      yaml: 'api:\n  transport: h2\n',
      expect: ['api.transport must be one of "auto", "http2", "http1", got "h2"'],
    },
    {
      name: 'static mode needs names',
      yaml: 'workspaces:\n  mode: static\n',
      expect: ['workspaces.names must list at least one namespace when workspaces.mode is "static", got []'],
    },
    {
      name: 'bad namespace name in a list',
      yaml: 'workspaces:\n  mode: static\n  names: [team-a, Team_B]\n',
      expect: ['workspaces.names[1] must be a namespace name (RFC 1123 label', 'got "Team_B"'],
    },
    {
      name: 'a scalar where a list is needed',
      yaml: 'workspaces:\n  names: team-a\n',
      expect: ['workspaces.names must be a list (without duplicates, at most 10000 items, each item a namespace name'],
    },
    {
      name: 'a scalar where a section is needed',
      yaml: 'api: 5\n',
      expect: ['api must be a mapping with the fields qps, burst, requestTimeoutSeconds, listPageSize, transport, got 5'],
    },
    {
      name: 'bad bind address port',
      yaml: 'metrics:\n  bindAddress: ":99999"\n',
      expect: ['metrics.bindAddress must be a bind address', 'got ":99999"'],
    },
    {
      name: 'metrics and health on one port with different hosts',
      yaml: 'metrics:\n  bindAddress: ":9000"\nhealth:\n  bindAddress: "127.0.0.1:9000"\n',
      expect: ['health.bindAddress must differ in port from metrics.bindAddress (":9000") or equal it exactly'],
    },
    {
      name: 'secure metrics sharing the plain-HTTP health address',
      yaml: 'metrics:\n  bindAddress: ":9000"\nhealth:\n  bindAddress: ":9000"\n',
      expect: ['health.bindAddress must differ from metrics.bindAddress when metrics.secure is true', 'got ":9000"'],
    },
    {
      name: 'a certificate directory for plain-HTTP metrics',
      yaml: 'metrics:\n  secure: false\n  certDir: /etc/certs\n',
      expect: ['metrics.certDir is only used when metrics.secure is true', 'got "/etc/certs"'],
    },
    {
      name: 'metrics.secure not a boolean',
      yaml: 'metrics:\n  secure: "yes"\n',
      expect: ['metrics.secure must be'],
    },
    {
      name: 'backoff bounds inverted',
      yaml: 'backoff:\n  baseDelayMs: 2000\n  maxDelayMs: 1000\n',
      expect: ['backoff.baseDelayMs must be at most backoff.maxDelayMs (1000), got 2000'],
    },
    {
      name: 'the document is not a mapping',
      yaml: '- a\n- b\n',
      expect: ['the configuration must be a mapping with the fields workspaces, concurrency'],
    },
  ];

  for (const { name, yaml, expect, count = 1 } of cases) {
    it(name, () => {
      const error = problems(yaml);
      assert.equal(error.issues.length, count, `expected exactly one problem, got:\n${error.message}`);
      for (const fragment of expect) assert.ok(error.message.includes(fragment), `message lacks ${JSON.stringify(fragment)}:\n${error.message}`);
    });
  }

  it('reports every problem at once, in file order, with positions', () => {
    const error = problems(
      [
        'concurrency:',
        '  maxConcurrentReconciles: 0',
        '  poolThreads: none',
        'log:',
        '  level: loud',
        'leaderElection:',
        '  retryPeriodSeconds: 30',
        'typo: 1',
      ].join('\n'),
    );
    assert.deepEqual(
      error.issues.map((issue) => [issue.path, issue.line]),
      [
        ['concurrency.maxConcurrentReconciles', 2],
        ['concurrency.poolThreads', 3],
        ['log.level', 5],
        ['leaderElection.retryPeriodSeconds', 7],
        ['typo', 8],
      ],
    );
    assert.match(error.message, /^config\/flotilla\.yaml: 5 configuration problems:\n/);
    assert.match(error.message, /concurrency\.maxConcurrentReconciles must be an integer between 1 and 10000, got 0 \(line 2, column 28\)/);
    assert.equal(error.source, FILE);
  });

  it('reports more problems than TypeBox collects by default (8)', () => {
    const yaml = Array.from({ length: 12 }, (_, i) => `unknown${i}: 1`).join('\n');
    assert.equal(problems(yaml).issues.length, 12);
  });

  it('reports YAML syntax errors with line and column', () => {
    const error = problems('concurrency:\n  maxConcurrentReconciles: [1, 2\n');
    assert.equal(error.issues.length >= 1, true);
    assert.match(error.message, /^config\/flotilla\.yaml: invalid YAML: /);
    assert.equal(error.issues[0]?.line !== undefined && error.issues[0].line >= 2, true, error.message);
    assert.equal(typeof error.issues[0]?.column, 'number');
  });

  it('rejects duplicate keys instead of silently keeping the last one', () => {
    const error = problems('log:\n  level: info\nlog:\n  level: debug\n');
    assert.match(error.message, /invalid YAML: .*(duplicate|unique)/i);
    assert.equal(error.issues[0]?.line, 3);
  });

  it('validateConfig returns the issues instead of throwing', () => {
    const result = validateConfig({ log: { level: 'nope' } });
    assert.equal(result.ok, false);
    if (!result.ok) assert.equal(result.issues[0]?.path, 'log.level');
  });
});

/**
 * Rules that span fields, which JSON Schema cannot express. They run on the
 * defaulted value even when the schema found problems (so the user sees all
 * problems at once), but each rule only looks at fields that are themselves
 * valid, so one bad value does not cascade into confusing follow-up errors.
 */
import { parseBindAddress } from './bind-address.ts';
import { formatPath } from './fields.ts';
import { renderValue } from './describe.ts';
import { DNS1123_SUBDOMAIN_MAX_LENGTH } from '../api/patterns.ts';

export interface SemanticIssue {
  segments: (string | number)[];
  message: string;
}

type Path = (string | number)[];

class Reader {
  readonly #root: unknown;
  readonly #invalid: ReadonlySet<string>;

  constructor(root: unknown, invalidPaths: ReadonlySet<string>) {
    this.#root = root;
    this.#invalid = invalidPaths;
  }

  /** The value at `path`, or undefined if it is missing or the schema already reported it. */
  get(path: Path): unknown {
    if (this.#invalid.has(formatPath(path))) return undefined;
    let node = this.#root;
    for (const segment of path) {
      if (node === null || typeof node !== 'object') return undefined;
      node = (node as Record<string | number, unknown>)[segment];
    }
    return node;
  }

  number(path: Path): number | undefined {
    const value = this.get(path);
    return typeof value === 'number' ? value : undefined;
  }
}

function lessThan(read: Reader, smaller: Path, larger: Path, orEqual: boolean): SemanticIssue[] {
  const a = read.number(smaller);
  const b = read.number(larger);
  if (a === undefined || b === undefined) return [];
  if (orEqual ? a <= b : a < b) return [];
  return [
    {
      segments: smaller,
      message: `${formatPath(smaller)} must be ${orEqual ? 'at most' : 'less than'} ${formatPath(larger)} (${b}), got ${a}`,
    },
  ];
}

/**
 * The orderings client-go's leaderelection.NewLeaderElector requires too (it is
 * stricter on the second: renewDeadline must exceed 1.2 × retryPeriod).
 */
function leaderElectionTimings(read: Reader): SemanticIssue[] {
  return [
    ...lessThan(read, ['leaderElection', 'renewDeadlineSeconds'], ['leaderElection', 'leaseDurationSeconds'], false),
    ...lessThan(read, ['leaderElection', 'retryPeriodSeconds'], ['leaderElection', 'renewDeadlineSeconds'], false),
  ];
}

/** A heartbeat that expires before its next renewal would flap the Cluster's AgentConnected condition. */
function agentHeartbeatTimings(read: Reader): SemanticIssue[] {
  return lessThan(read, ['agent', 'heartbeatIntervalSeconds'], ['agent', 'heartbeatLeaseDurationSeconds'], false);
}

function concurrencyBounds(read: Reader): SemanticIssue[] {
  return lessThan(read, ['concurrency', 'minConcurrentReconciles'], ['concurrency', 'maxConcurrentReconciles'], true);
}

function backoffBounds(read: Reader): SemanticIssue[] {
  return [
    ...lessThan(read, ['backoff', 'baseDelayMs'], ['backoff', 'maxDelayMs'], true),
    ...lessThan(read, ['backoff', 'reflector', 'initialDelayMs'], ['backoff', 'reflector', 'maxDelayMs'], true),
  ];
}

function staticWorkspacesNeedNames(read: Reader): SemanticIssue[] {
  const names = read.get(['workspaces', 'names']);
  if (read.get(['workspaces', 'mode']) !== 'static' || !Array.isArray(names) || names.length > 0) return [];
  return [
    {
      segments: ['workspaces', 'names'],
      message: 'workspaces.names must list at least one namespace when workspaces.mode is "static", got []',
    },
  ];
}

/** The prefix of a label key is a DNS subdomain: at most 253 characters (the pattern bounds only the name part). */
function labelKeyPrefixIssue(key: string, segments: Path, what: string): SemanticIssue[] {
  const slash = key.indexOf('/');
  if (slash <= DNS1123_SUBDOMAIN_MAX_LENGTH) return [];
  return [
    {
      segments,
      message: `${what} must have a prefix (before "/") of at most ${DNS1123_SUBDOMAIN_MAX_LENGTH} characters, got ${slash}`,
    },
  ];
}

/** metav1.LabelSelectorAsSelector's rules for operators and values. */
function labelSelector(read: Reader, base: Path): SemanticIssue[] {
  const issues: SemanticIssue[] = [];
  const matchLabels = read.get([...base, 'matchLabels']);
  if (matchLabels !== null && typeof matchLabels === 'object') {
    for (const key of Object.keys(matchLabels)) {
      const segments = [...base, 'matchLabels', key];
      issues.push(...labelKeyPrefixIssue(key, segments, `label key ${JSON.stringify(key)} in ${formatPath([...base, 'matchLabels'])}`));
    }
  }
  const expressions = read.get([...base, 'matchExpressions']);
  if (!Array.isArray(expressions)) return issues;
  expressions.forEach((_, index) => {
    const at: Path = [...base, 'matchExpressions', index];
    const key = read.get([...at, 'key']);
    if (typeof key === 'string') issues.push(...labelKeyPrefixIssue(key, [...at, 'key'], formatPath([...at, 'key'])));
    const operator = read.get([...at, 'operator']);
    const values = read.get([...at, 'values']);
    const count = Array.isArray(values) ? values.length : 0;
    if ((operator === 'In' || operator === 'NotIn') && count === 0) {
      issues.push({
        segments: [...at, 'values'],
        message: `${formatPath([...at, 'values'])} must list at least one value when operator is "${operator}", got ${renderValue(values)}`,
      });
    }
    if ((operator === 'Exists' || operator === 'DoesNotExist') && count > 0) {
      issues.push({
        segments: [...at, 'values'],
        message: `${formatPath([...at, 'values'])} must be empty when operator is "${operator}", got ${renderValue(values)}`,
      });
    }
  });
  return issues;
}

/**
 * Sharing one server needs the same address string; the same port on two
 * different hosts would fail at start with EADDRINUSE (or bind surprisingly).
 */
function bindAddressesCompatible(read: Reader): SemanticIssue[] {
  const metrics = read.get(['metrics', 'bindAddress']);
  const health = read.get(['health', 'bindAddress']);
  if ((typeof metrics !== 'string' && metrics !== 0) || (typeof health !== 'string' && health !== 0)) return [];
  if (metrics === health) return [];
  let m, h;
  try {
    m = parseBindAddress(metrics);
    h = parseBindAddress(health);
  } catch {
    return [];
  }
  if (m === null || h === null || m.port === 0 || m.port !== h.port) return [];
  return [
    {
      segments: ['health', 'bindAddress'],
      message: `health.bindAddress must differ in port from metrics.bindAddress (${JSON.stringify(metrics)}) or equal it exactly to share one server, got ${JSON.stringify(health)}`,
    },
  ];
}

/**
 * Secure metrics are HTTPS, health probes plain HTTP: they cannot share a
 * server. A certificate directory without TLS would silently go unused.
 */
function secureMetrics(read: Reader): SemanticIssue[] {
  const secure = read.get(['metrics', 'secure']);
  const certDir = read.get(['metrics', 'certDir']);
  const metrics = read.get(['metrics', 'bindAddress']);
  const health = read.get(['health', 'bindAddress']);
  const issues: SemanticIssue[] = [];
  // Port 0 picks a free port per server, so equal strings do not collide there.
  if (secure === true && typeof metrics === 'string' && metrics === health && !/(^|:)0$/.test(metrics)) {
    issues.push({
      segments: ['health', 'bindAddress'],
      message: `health.bindAddress must differ from metrics.bindAddress when metrics.secure is true (metrics are served over HTTPS, health probes over plain HTTP), got ${JSON.stringify(health)}`,
    });
  }
  if (secure === false && typeof certDir === 'string' && certDir !== '') {
    issues.push({
      segments: ['metrics', 'certDir'],
      message: `metrics.certDir is only used when metrics.secure is true; set metrics.secure: true or remove metrics.certDir, got ${JSON.stringify(certDir)}`,
    });
  }
  return issues;
}

export function semanticIssues(value: unknown, invalidPaths: ReadonlySet<string>): SemanticIssue[] {
  const read = new Reader(value, invalidPaths);
  return [
    ...labelSelector(read, ['workspaces', 'selector']),
    ...staticWorkspacesNeedNames(read),
    ...concurrencyBounds(read),
    ...backoffBounds(read),
    ...leaderElectionTimings(read),
    ...agentHeartbeatTimings(read),
    ...bindAddressesCompatible(read),
    ...secureMetrics(read),
  ];
}

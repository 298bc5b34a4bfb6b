/**
 * The Flotilla configuration file, as one TypeBox schema. It is the single
 * source of truth for the `FlotillaConfig` type, the defaults, validation
 * (`validate.ts`), which fields reload without a restart (`hot-reload.ts`)
 * and the generated reference (`scripts/config-reference.ts`). Every field
 * carries a `description`; defaults follow the client-go /
 * controller-runtime values the ecosystem is used to, and where we deviate
 * the description says why (docs/architecture.md#configuration).
 *
 * Two custom annotations (kept out of TypeBox's own keywords):
 * - `x-hot-reload`: whether a change of the file takes effect without a
 *   restart. Inherited: the nearest annotation on the path wins.
 * - `x-constraint`: a human description of a `pattern`, used in error
 *   messages and the reference instead of the raw regular expression.
 */
import Type from 'typebox';
import {
  DNS1123_LABEL_MAX_LENGTH,
  DNS1123_LABEL_PATTERN,
  DNS1123_SUBDOMAIN_MAX_LENGTH,
  DNS1123_SUBDOMAIN_PATTERN,
  LABEL_KEY_MAX_LENGTH,
  LABEL_KEY_PATTERN,
  LABEL_VALUE_MAX_LENGTH,
  LABEL_VALUE_PATTERN,
} from '../api/patterns.ts';
import { DEFAULT_API_TRANSPORT } from '../runtime/kube/http-sender.ts';

export const HOT_RELOAD_ANNOTATION = 'x-hot-reload';
export const CONSTRAINT_ANNOTATION = 'x-constraint';

/** Where `flotilla` looks for its configuration unless `--config` says otherwise. */
export const DEFAULT_CONFIG_PATH = 'config/flotilla.yaml';

/** The label that marks a namespace as a workspace in the default `selector` mode. */
export const DEFAULT_WORKSPACE_LABEL = 'flotilla.dev/workspace';

const section = { additionalProperties: false, default: {} } as const;

// ---------------------------------------------------------------------------
// Reusable field types
// ---------------------------------------------------------------------------

function namespaceName(description: string, defaultValue?: string) {
  return Type.String({
    pattern: DNS1123_LABEL_PATTERN,
    maxLength: DNS1123_LABEL_MAX_LENGTH,
    [CONSTRAINT_ANNOTATION]: 'a namespace name (RFC 1123 label: lower-case alphanumerics and "-", at most 63 characters)',
    description,
    ...(defaultValue === undefined ? {} : { default: defaultValue }),
  });
}

const LabelKey = Type.String({
  pattern: LABEL_KEY_PATTERN,
  maxLength: LABEL_KEY_MAX_LENGTH,
  [CONSTRAINT_ANNOTATION]:
    'a label key (optional DNS subdomain prefix and "/", then at most 63 alphanumerics, "-", "_" or ".", alphanumeric at both ends)',
  description: 'A label key.',
});

const LabelValue = Type.String({
  pattern: LABEL_VALUE_PATTERN,
  maxLength: LABEL_VALUE_MAX_LENGTH,
  [CONSTRAINT_ANNOTATION]:
    'a label value (empty, or at most 63 alphanumerics, "-", "_" or ".", alphanumeric at both ends)',
  description: 'A label value.',
});

/**
 * metav1.LabelSelector. Keys are checked through `propertyNames` (not
 * `patternProperties` + `additionalProperties: false`) so that a bad label
 * key is reported as a bad key, not as an unknown field.
 */
function labelSelector(options: { description: string; default: unknown }) {
  return Type.Object(
    {
      matchLabels: Type.Optional(
        Type.Record(Type.String(), LabelValue, {
          propertyNames: LabelKey,
          description: 'Labels that must all be present with exactly these values.',
        }),
      ),
      matchExpressions: Type.Optional(
        Type.Array(
          Type.Object(
            {
              key: Type.String({ ...LabelKey, description: 'The label key the requirement applies to.' }),
              operator: Type.Enum(['In', 'NotIn', 'Exists', 'DoesNotExist'], {
                description: 'How the label value is compared with `values`.',
              }),
              values: Type.Optional(
                Type.Array(LabelValue, {
                  description: 'Non-empty for In and NotIn; empty or absent for Exists and DoesNotExist.',
                }),
              ),
            },
            { additionalProperties: false, description: 'One label requirement.' },
          ),
          {
            description:
              'Requirements that must all hold: {key, operator: In|NotIn|Exists|DoesNotExist, values}.',
          },
        ),
      ),
    },
    {
      additionalProperties: false,
      description: `${options.description} Kubernetes label selector semantics: all criteria must hold; an empty selector ({}) matches every namespace.`,
      default: options.default,
    },
  );
}

/**
 * `[host]:port`, `host:port`, `:port` (all interfaces) or `0` (disabled).
 * The port alternation bounds it to 0–65535 inside the pattern itself.
 */
const BIND_ADDRESS_PATTERN =
  '^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9.-]*):(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})$|^0$';

function bindAddress(description: string, defaultValue: string) {
  return Type.Union(
    [
      Type.String({
        pattern: BIND_ADDRESS_PATTERN,
        [CONSTRAINT_ANNOTATION]:
          'a bind address "host:port", "[ipv6]:port" or ":port" (all interfaces) with port 0-65535 (0 = any free port), or 0 to disable',
      }),
      // YAML reads an unquoted `0` as a number; accept it as "disabled".
      Type.Literal(0),
    ],
    {
      description,
      default: defaultValue,
      [CONSTRAINT_ANNOTATION]:
        'a bind address "host:port", "[ipv6]:port" or ":port" (all interfaces) with port 0-65535 (0 = any free port), or 0 to disable',
    },
  );
}

// ---------------------------------------------------------------------------
// Sections
// ---------------------------------------------------------------------------

const WorkspacesSchema = Type.Object(
  {
    mode: Type.Enum(['selector', 'static', 'all'], {
      default: 'selector',
      description:
        'Which namespaces are workspaces: `selector` = namespaces matching `selector`; `static` = exactly the namespaces in `names`; `all` = every namespace except `excludedNamespaces`.',
    }),
    selector: labelSelector({
      description: 'Namespaces matching this label selector are workspaces (mode `selector`).',
      default: { matchLabels: { [DEFAULT_WORKSPACE_LABEL]: 'true' } },
    }),
    names: Type.Array(namespaceName('A workspace namespace.'), {
      default: [],
      uniqueItems: true,
      maxItems: 10_000,
      description: 'The workspace namespaces (mode `static`; must list at least one). Ignored in the other modes.',
    }),
    excludedNamespaces: Type.Array(namespaceName('A namespace that is never a workspace in mode `all`.'), {
      default: ['kube-system', 'kube-public', 'kube-node-lease'],
      uniqueItems: true,
      maxItems: 10_000,
      description:
        'System namespaces that mode `all` never treats as workspaces. The controller\'s own namespace (`leaderElection.namespace`) is always excluded as well.',
    }),
    offboard: Type.Enum(['retain', 'delete'], {
      default: 'retain',
      description:
        'What happens to the BundleDeployments and deployment namespaces of a namespace that stops being a workspace: `retain` leaves them in place (safe against a mistyped selector); `delete` removes them.',
    }),
  },
  {
    ...section,
    description:
      'Which namespaces Flotilla manages. Changes apply without a restart: a namespace entering or leaving the set is onboarded or offboarded live.',
    [HOT_RELOAD_ANNOTATION]: true,
  },
);

const ConcurrencySchema = Type.Object(
  {
    maxConcurrentReconciles: Type.Integer({
      minimum: 1,
      maximum: 10_000,
      default: 64,
      description:
        'Global limit on reconciles in flight across all controllers (the ceiling of the adaptive limit, see `adaptive`). Reconciles mostly wait on the API server, so the limit is sized to keep it busy rather than to match cores: 64 is above Fleet\'s 50 workers and well below kube-apiserver\'s default 200 mutating requests in flight, so neither the client nor the server\'s inflight limit is the bottleneck.',
    }),
    adaptive: Type.Boolean({
      default: true,
      description:
        'Adapt the limit on reconciles in flight to the API server, as TCP and Envoy\'s adaptive concurrency do: halve it when the server answers 429 or requests get 4× slower than usual, add 1 per second of successes, between `minConcurrentReconciles` and `maxConcurrentReconciles`. Under an API Priority and Fairness level that rejects instead of queuing, a fixed 64 in flight keeps being rejected and makes the server raise its Retry-After to 32 s. false = always `maxConcurrentReconciles`.',
    }),
    minConcurrentReconciles: Type.Integer({
      minimum: 1,
      maximum: 10_000,
      default: 1,
      description:
        'Floor of the adaptive limit on reconciles in flight; at most `maxConcurrentReconciles`. 1, as TCP\'s smallest window: a server that rejects even two requests at once is served one at a time rather than not at all.',
    }),
    poolThreads: Type.Union([Type.Literal('auto'), Type.Integer({ minimum: 1, maximum: 256 })], {
      default: 'auto',
      description:
        'Worker threads for selector matching (fan-out queries, answered from each worker\'s replica of the selector index). `auto` = available cores − 1 (at least 1), leaving the main thread a core for reflectors, actors and I/O. A maximum: each worker (~30 MiB) starts when a batch above `poolInlineThreshold` first needs it, so a controller whose batches stay small runs none. Needs a restart: the pool is sized when it is created.',
      [HOT_RELOAD_ANNOTATION]: false,
    }),
    poolWorkerMaxHeapMb: Type.Integer({
      minimum: 0,
      maximum: 65_536,
      default: 0,
      description:
        'Heap limit of each pool worker thread in MiB (V8 `maxOldGenerationSizeMb`). A worker that exceeds it is terminated and replaced, its task fails as a transient error and the caller retries, instead of the whole process running out of memory. 0 = V8\'s default for the machine. Needs a restart.',
      [HOT_RELOAD_ANNOTATION]: false,
    }),
    poolQueueSize: Type.Integer({
      minimum: 1,
      maximum: 100_000,
      default: 128,
      description:
        'Tasks that may wait for a worker. When the queue is full, reconciles wait (backpressure); nothing is dropped. 128 = twice the default reconciles in flight, so the queue only throttles when workers truly fall behind.',
    }),
    poolInlineThreshold: Type.Integer({
      minimum: 0,
      maximum: 10_000_000,
      default: 1_000,
      description:
        'Batches smaller than this many items (e.g. selector × cluster matches) run inline on the main thread instead of in a worker. Measured on a 2-core machine: inline matching costs ~0.095 µs per item; offloading to a worker that holds an index replica costs ~65 µs per round trip plus ~0.017 µs per item of main-thread time, so offloading pays from roughly 800 items. 0 = always offload.',
    }),
    poolPlacementThreshold: Type.Number({
      minimum: 0,
      maximum: 1e9,
      default: 100,
      description:
        'Workspaces with more Clusters than this have each Bundle\'s placement + diff computed in a pool worker, against its replica of the placement records (Cluster labels and state, ClusterGroups, the owned fields of BundleDeployments), instead of on the main thread; the main thread then only builds the objects it writes. Measured by bench/placement-pool.ts on a 2-core machine: an inline plan costs the main thread ~2 µs per Cluster of the workspace, a pooled one ~45-80 µs plus ~0.06 µs per targeted Cluster, so offloading pays from ~30-50 Clusters; below 100 inline also wins on latency. 0 = always offload (when the pool has threads); 1e9 = always inline.',
    }),
    lowPriorityShare: Type.Number({
      minimum: 0,
      maximum: 1,
      default: 0.1,
      description:
        'Share of reconcile starts guaranteed to the low-priority lane (initial list, resyncs) while user changes are waiting: 0.1 = every 10th pick. Keeps a user change from waiting behind thousands of startup reconciles while still preventing starvation of the low lane. 0 = strict priority (the low lane can starve).',
    }),
    maxSummaryDeferralSeconds: Type.Number({
      minimum: 0,
      maximum: 3600,
      default: 10,
      description:
        'How long a status summary that follows the controller\'s own writes (a Bundle\'s counts after its BundleDeployments were written, a Cluster\'s after its BundleDeployments appeared) may wait while other keys\' writes are ready to run. Summaries run when nothing else waits, so a fan-out writes every BundleDeployment before spending the API server on summaries; after this bound a waiting summary joins the low-priority lane and runs at its guaranteed share (`lowPriorityShare`). 0 = summaries compete like any requeue.',
    }),
  },
  {
    ...section,
    description:
      'Concurrency knobs. All but `poolThreads` and `poolWorkerMaxHeapMb` apply without a restart, so a mounted ConfigMap can tune a running controller.',
    [HOT_RELOAD_ANNOTATION]: true,
  },
);

const ApiSchema = Type.Object(
  {
    qps: Type.Number({
      minimum: 0,
      maximum: 1_000_000,
      default: 0,
      description:
        'Client-side limit on API requests per second (token bucket). 0 = unlimited: like controller-runtime since v0.21, Flotilla relies on the API server\'s Priority and Fairness and honours 429 Retry-After. A low client limit is what made Fleet #3163 take minutes (20 req/s).',
      [HOT_RELOAD_ANNOTATION]: true,
    }),
    burst: Type.Integer({
      minimum: 1,
      maximum: 1_000_000,
      default: 200,
      description: 'Token-bucket burst: requests allowed at once above `qps`. Only used when `qps` > 0.',
      [HOT_RELOAD_ANNOTATION]: true,
    }),
    requestTimeoutSeconds: Type.Number({
      exclusiveMinimum: 0,
      maximum: 3_600,
      default: 30,
      description:
        'Client-side timeout of one API request (not of WATCH streams, which use their own randomised 5–10 min timeout). Below kube-apiserver\'s default 60 s so a stalled request is retried by us before the server gives up on it.',
    }),
    listPageSize: Type.Integer({
      minimum: 1,
      maximum: 100_000,
      default: 500,
      description: 'Objects per page in a paginated LIST (client-go\'s reflector uses 500).',
    }),
    // Spelled out (not API_TRANSPORTS) so the field keeps its literal type; a unit test keeps the two equal.
    transport: Type.Enum(['auto', 'http2', 'http1'], {
      default: DEFAULT_API_TRANSPORT,
      description:
        'HTTP version spoken to the API server (the controller\'s and the agent\'s clients). `auto`: HTTP/2 when the server offers it in TLS ALPN, as client-go does (one connection per API server, requests and watches multiplexed on it, PINGed every 30 s), HTTP/1.1 when it does not or the server URL is plain http://. `http2`: HTTP/2 only; a server that does not negotiate it fails every request (an http:// server is spoken to in HTTP/2 without TLS). `http1`: HTTP/1.1 over a pool of keep-alive connections (up to 256), the fallback. Needs a restart.',
    }),
  },
  { ...section, description: 'Kubernetes API client settings.', [HOT_RELOAD_ANNOTATION]: false },
);

const ReflectorBackoffSchema = Type.Object(
  {
    initialDelayMs: Type.Integer({
      minimum: 1,
      maximum: 3_600_000,
      default: 800,
      description: 'First wait after a failed LIST or WATCH (client-go: 800 ms).',
    }),
    maxDelayMs: Type.Integer({
      minimum: 1,
      maximum: 3_600_000,
      default: 30_000,
      description: 'Cap of the doubling wait (client-go: 30 s).',
    }),
    resetAfterSeconds: Type.Number({
      exclusiveMinimum: 0,
      maximum: 86_400,
      default: 120,
      description: 'After this long without a failure the wait starts again from `initialDelayMs` (client-go: 2 min).',
    }),
    jitter: Type.Number({
      minimum: 0,
      maximum: 10,
      default: 1,
      description: 'Each wait is stretched by a random factor of up to 1 + `jitter` (client-go: 1.0).',
    }),
  },
  {
    ...section,
    description: 'Backoff of the reflectors\' LIST/WATCH loops after errors other than 410 Gone.',
  },
);

const BackoffSchema = Type.Object(
  {
    baseDelayMs: Type.Integer({
      minimum: 1,
      maximum: 3_600_000,
      default: 5,
      description: 'First per-key retry delay after a transient error (client-go workqueue: 5 ms); doubles on each consecutive failure.',
    }),
    maxDelayMs: Type.Integer({
      minimum: 1,
      maximum: 86_400_000,
      default: 1_000_000,
      description: 'Cap of the per-key retry delay (client-go workqueue: 1000 s). Reset on success.',
    }),
    jitter: Type.Number({
      minimum: 0,
      maximum: 1,
      default: 0.1,
      description:
        'Each per-key delay is spread uniformly within ±`jitter` of its value, so keys that failed together (e.g. during an API server restart) do not retry in lockstep.',
    }),
    maxAttempts: Type.Integer({
      minimum: 0,
      maximum: 1_000_000,
      default: 0,
      description:
        'Consecutive transient failures after which a key is dead-lettered. 0 = unlimited (client-go\'s behaviour): the capped delay already makes a persistent failure cheap, and a budget would strand every key after an API server outage longer than the budget. Terminal (invalid input) errors dead-letter at once regardless.',
    }),
    reflector: ReflectorBackoffSchema,
  },
  { ...section, description: 'Retry timing for failed reconciles and for the reflectors.', [HOT_RELOAD_ANNOTATION]: false },
);

const LeaderElectionSchema = Type.Object(
  {
    enabled: Type.Boolean({
      default: true,
      description: 'Run leader election so that only one replica reconciles; standby replicas keep warm caches.',
    }),
    namespace: namespaceName('Namespace of the coordination.k8s.io Lease (and of the controller itself).', 'flotilla-system'),
    leaseName: Type.String({
      pattern: DNS1123_SUBDOMAIN_PATTERN,
      maxLength: DNS1123_SUBDOMAIN_MAX_LENGTH,
      default: 'flotilla-controller',
      [CONSTRAINT_ANNOTATION]: 'an object name (RFC 1123 subdomain: lower-case alphanumerics, "-" and ".", at most 253 characters)',
      description: 'Name of the Lease object.',
    }),
    identity: Type.String({
      maxLength: 253,
      default: '',
      description: 'This replica\'s identity in the Lease. Empty = the host name (the pod name) plus a random suffix, as controller-runtime does.',
    }),
    leaseDurationSeconds: Type.Number({
      exclusiveMinimum: 0,
      maximum: 3_600,
      default: 15,
      description: 'How long a lease is valid without renewal before a standby may take over (client-go: 15 s). Must be greater than `renewDeadlineSeconds`.',
    }),
    renewDeadlineSeconds: Type.Number({
      exclusiveMinimum: 0,
      maximum: 3_600,
      default: 10,
      description: 'How long the leader keeps retrying to renew before it gives up leadership (client-go: 10 s). Must be greater than `retryPeriodSeconds`.',
    }),
    retryPeriodSeconds: Type.Number({
      exclusiveMinimum: 0,
      maximum: 3_600,
      default: 2,
      description: 'Interval between acquire/renew attempts (client-go: 2 s).',
    }),
  },
  { ...section, description: 'Leader election with a coordination.k8s.io Lease.', [HOT_RELOAD_ANNOTATION]: false },
);

const ShutdownSchema = Type.Object(
  {
    timeoutSeconds: Type.Number({
      exclusiveMinimum: 0,
      maximum: 3_600,
      default: 25,
      description:
        'Budget for the whole graceful shutdown after SIGTERM (drain in-flight reconciles, release the lease, close the pool and servers). 25 s: below Kubernetes\' default terminationGracePeriodSeconds of 30 s, so the lease is released before the kubelet sends SIGKILL. Raise both together.',
    }),
  },
  { ...section, description: 'Graceful shutdown.', [HOT_RELOAD_ANNOTATION]: false },
);

const MetricsSchema = Type.Object(
  {
    bindAddress: bindAddress(
      'Address of the Prometheus `/metrics` endpoint. 0 disables it. 8443 is kubebuilder\'s port for secure metrics. With `secure: false` it may equal `health.bindAddress` to serve both from one plain-HTTP server.',
      ':8443',
    ),
    secure: Type.Boolean({
      default: true,
      description:
        'Serve `/metrics` over HTTPS to authorized clients only, as kubebuilder v4 projects do: each request\'s bearer token is checked with a TokenReview, then its user with a SubjectAccessReview for `get` on the non-resource URL `/metrics` (grant it with the `flotilla-metrics-reader` ClusterRole); answers are cached (tokens 1 min, allowed 5 min, denied 30 s). The controller needs `create` on tokenreviews and subjectaccessreviews (config/rbac/role.yaml). false = plain HTTP with no authentication, for loopback-only use (tests, benchmarks): metrics name every workspace, Bundle and Cluster.',
    }),
    certDir: Type.String({
      maxLength: 4_096,
      default: '',
      description:
        'Directory holding `tls.crt` and `tls.key` (a cert-manager or `kubernetes.io/tls` Secret mounted as a volume), re-read when they change. Empty = a self-signed certificate generated at start (scrapers then skip verification, e.g. `insecureSkipVerify`). Only with `secure: true`.',
    }),
  },
  { ...section, description: 'Prometheus metrics endpoint.', [HOT_RELOAD_ANNOTATION]: false },
);

const HealthSchema = Type.Object(
  {
    bindAddress: bindAddress(
      'Address of the `/healthz` (liveness) and `/readyz` (readiness) endpoints, always plain HTTP so the kubelet\'s probes need no certificate or token. 0 disables them.',
      ':8081',
    ),
    eventLoopStallSeconds: Type.Number({
      exclusiveMinimum: 0,
      maximum: 3_600,
      default: 10,
      description:
        'Liveness fails while the event loop has recently been blocked this long. 10 s = the default lease renew deadline: a loop that stalls longer cannot keep its lease anyway. Liveness never depends on the API server (that is how Fission got restart loops).',
    }),
  },
  { ...section, description: 'Health probe endpoints.', [HOT_RELOAD_ANNOTATION]: false },
);

const LogSchema = Type.Object(
  {
    level: Type.Enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], {
      default: 'info',
      description: 'Minimum level of the log lines (pino levels). `silent` turns logging off.',
    }),
    format: Type.Enum(['json', 'text'], {
      default: 'json',
      description:
        '`json`: one JSON object per line (for log collectors; the default). `text`: one readable line per entry (time, level, component, message, key=value fields) for a terminal. Overridden by `--log-format` and `FLOTILLA_LOG_FORMAT`; takes effect at the next start.',
      [HOT_RELOAD_ANNOTATION]: false,
    }),
  },
  { ...section, description: 'Logging.', [HOT_RELOAD_ANNOTATION]: true },
);

const AgentSchema = Type.Object(
  {
    heartbeatIntervalSeconds: Type.Number({
      exclusiveMinimum: 0,
      maximum: 3_600,
      default: 10,
      description:
        'How often the agent renews its heartbeat Lease (`flotilla-agent`) in its deployment namespace on the management cluster (the kubelet renews its node Lease every 10 s).',
    }),
    heartbeatLeaseDurationSeconds: Type.Number({
      exclusiveMinimum: 0,
      maximum: 3_600,
      default: 40,
      description:
        'How long the heartbeat stays valid without a renewal; after that the controller marks the Cluster `AgentConnected=False` (the node Lease convention: 40 s). Must be greater than `heartbeatIntervalSeconds`.',
    }),
    downstreamQps: Type.Number({
      minimum: 0,
      maximum: 100_000,
      default: 0,
      description:
        'Requests per second the agent may send to its downstream cluster (token bucket). 0 = unlimited, like `api.qps`: the reconciles in flight bound the agent, and the API server\'s priority and fairness throttles it. A limit of 50 made a wave of 3,000 new BundleDeployments take about 5 minutes (bench/README.md).',
    }),
    downstreamBurst: Type.Integer({
      minimum: 1,
      maximum: 100_000,
      default: 100,
      description: 'Burst of the downstream token bucket.',
    }),
    contentCacheSize: Type.Integer({
      minimum: 1,
      maximum: 100_000,
      default: 512,
      description:
        'Contents the agent keeps in memory by name. They are immutable, so a cached one is never re-read; the least recently used is evicted first.',
    }),
  },
  {
    ...section,
    description: 'The agent (`flotilla agent`), which applies BundleDeployments on a downstream cluster. The controller ignores this section.',
    [HOT_RELOAD_ANNOTATION]: false,
  },
);

export const FlotillaConfigSchema = Type.Object(
  {
    workspaces: WorkspacesSchema,
    concurrency: ConcurrencySchema,
    api: ApiSchema,
    backoff: BackoffSchema,
    leaderElection: LeaderElectionSchema,
    shutdown: ShutdownSchema,
    metrics: MetricsSchema,
    health: HealthSchema,
    log: LogSchema,
    agent: AgentSchema,
    resyncPeriodSeconds: Type.Integer({
      minimum: 0,
      maximum: 604_800,
      default: 36_000,
      description:
        'Every this often, every cached object is re-enqueued on the low-priority lane as a safety net against missed events (controller-runtime\'s default SyncPeriod: 10 h). A resync of an unchanged world performs zero writes. 0 = never.',
      [HOT_RELOAD_ANNOTATION]: false,
    }),
  },
  {
    additionalProperties: false,
    description: 'Flotilla controller configuration (YAML, camelCase keys). Missing fields take their defaults.',
  },
);

export type FlotillaConfig = Type.Static<typeof FlotillaConfigSchema>;
export type WorkspacesConfig = FlotillaConfig['workspaces'];
export type WorkspaceMode = WorkspacesConfig['mode'];
export type ConcurrencyConfig = FlotillaConfig['concurrency'];
export type ApiConfig = FlotillaConfig['api'];
export type BackoffConfig = FlotillaConfig['backoff'];
export type AgentConfig = FlotillaConfig['agent'];
export type LeaderElectionConfig = FlotillaConfig['leaderElection'];
export type LogLevel = FlotillaConfig['log']['level'];
export type ConfigLabelSelector = WorkspacesConfig['selector'];

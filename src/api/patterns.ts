/**
 * Kubernetes name and label syntax as regular expressions. Each pattern is
 * written in the common subset of ECMAScript and RE2 syntax (no lookaround,
 * no named groups) because the same string is used three ways: as a JSON
 * Schema `pattern` checked by TypeBox in Node, as an OpenAPI `pattern` checked
 * by the API server (Go regexp), and inside CEL `matches()` rules.
 */

/** RFC 1123 label: namespace names, Bundle and Cluster names, label-safe names. */
export const DNS1123_LABEL_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
export const DNS1123_LABEL_MAX_LENGTH = 63;

/** RFC 1123 subdomain: most object names (ClusterGroups, ServiceAccounts). */
export const DNS1123_SUBDOMAIN_PATTERN =
  '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
export const DNS1123_SUBDOMAIN_MAX_LENGTH = 253;

/** A label value: empty, or up to 63 alphanumerics, `-`, `_`, `.`, alphanumeric at both ends. */
export const LABEL_VALUE_PATTERN = '^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$';
export const LABEL_VALUE_MAX_LENGTH = 63;

/**
 * A label key: optional DNS-subdomain prefix and `/`, then a name of at most
 * 63 characters (bounded inside the pattern). The prefix's 253-character
 * limit is enforced through the overall maximum length.
 */
export const LABEL_KEY_PATTERN =
  '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$';
export const LABEL_KEY_MAX_LENGTH = DNS1123_SUBDOMAIN_MAX_LENGTH + 1 + 63;

/** metav1.Condition `type`: a label key (e.g. `Ready`, `example.com/Synced`). */
export const CONDITION_TYPE_PATTERN = LABEL_KEY_PATTERN;
export const CONDITION_TYPE_MAX_LENGTH = 316;

/** metav1.Condition `reason`: CamelCase identifier. */
export const CONDITION_REASON_PATTERN = '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$';

/**
 * A Bundle resource name: a relative file-like path of DNS-ish segments
 * (`deployment.yaml`, `app/service.yaml`). Segments start and end with an
 * alphanumeric, so `.`/`..`, empty segments and absolute paths are excluded.
 */
export const RESOURCE_NAME_PATTERN =
  '^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?(/[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)*$';
export const RESOURCE_NAME_MAX_LENGTH = 253;

/** Lower-case hex SHA-256 digest. */
export const SHA256_HEX_PATTERN = '^[0-9a-f]{64}$';

/** A Content name: `s-` followed by the SHA-256 of the resources. */
export const CONTENT_NAME_PREFIX = 's-';
export const CONTENT_NAME_PATTERN = '^s-[0-9a-f]{64}$';

/**
 * A deployment ID: `<contentName>:<hash of options>`. The options hash is
 * lower-case hex; its length is left open (8 to 64) so that it can be
 * shortened without a schema change.
 */
export const DEPLOYMENT_ID_PATTERN = '^s-[0-9a-f]{64}:[0-9a-f]{8,64}$';
export const DEPLOYMENT_ID_MAX_LENGTH = 2 + 64 + 1 + 64;

/** `"ready/desired"` as shown in READY printer columns. */
export const READY_RATIO_PATTERN = '^[0-9]+/[0-9]+$';

/** A percentage from 0% to 100% (int-or-string fields such as `maxUnavailable`). */
export const PERCENT_PATTERN = '^(100|[1-9]?[0-9])%$';

/** Renders `value` as a single-quoted CEL string literal. */
export function celString(value: string): string {
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

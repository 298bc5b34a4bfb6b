import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../../../src/runtime/errors.ts';
import { explainApiError } from '../../../src/runtime/kube/explain-error.ts';
import { KindResources } from '../../../src/api/kinds.ts';
import { builtinTypes } from '../../../src/runtime/kube/resource.ts';

const server = 'https://127.0.0.1:6443';
const bundles = KindResources.Bundle;

function apiError(statusCode: number, reason: string, message: string, resource = 'bundles.flotilla.dev'): ApiError {
  return new ApiError({ statusCode, reason, message, verb: 'list', resource, body: { kind: 'Status', reason, message, code: statusCode } });
}

test('connection refused names the server and what to check', () => {
  const err = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
  const problem = explainApiError(err, { server, verb: 'list', type: bundles });
  assert.equal(problem?.category, 'unreachable');
  assert.equal(problem?.message, `cannot reach the API server at ${server}: connect ECONNREFUSED 127.0.0.1:1; check --kubeconfig (or KUBECONFIG) and that the cluster is running`);
});

test('every reflector failing to connect is one problem', () => {
  const err = Object.assign(new Error('getaddrinfo ENOTFOUND nowhere'), { code: 'ENOTFOUND' });
  const a = explainApiError(err, { server, verb: 'list', type: bundles });
  const b = explainApiError(err, { server, verb: 'watch', type: KindResources.Cluster });
  assert.ok(a && b);
  assert.equal(a.key, b.key);
});

test('a 404 listing a Flotilla kind means the CRDs are missing', () => {
  const problem = explainApiError(apiError(404, 'NotFound', 'the server could not find the requested resource'), { server, verb: 'list', type: bundles });
  assert.equal(problem?.category, 'crds-missing');
  assert.match(problem!.message, /^the Flotilla CRDs are not installed \(bundles\.flotilla\.dev not found on https:\/\/127\.0\.0\.1:6443\); install them with kubectl apply --server-side -k config\/crd$/);
});

test('a 404 for a single object is not explained (cache lag, deletion)', () => {
  assert.equal(explainApiError(apiError(404, 'NotFound', 'bundles.flotilla.dev "x" not found'), { server, verb: 'get', type: bundles }), undefined);
});

test('a 404 listing a built-in kind says the cluster does not serve it', () => {
  const problem = explainApiError(apiError(404, 'NotFound', 'not found', 'namespaces'), { server, verb: 'list', type: builtinTypes.namespace });
  assert.equal(problem?.category, 'not-served');
});

test('403 quotes the server\'s denial and points at the shipped RBAC', () => {
  const message = 'clusters.flotilla.dev is forbidden: User "someone" cannot list resource "clusters" in API group "flotilla.dev" at the cluster scope';
  const problem = explainApiError(apiError(403, 'Forbidden', message, 'clusters.flotilla.dev'), { server, verb: 'list', type: KindResources.Cluster });
  assert.equal(problem?.category, 'forbidden');
  assert.equal(
    problem?.message,
    'forbidden: User "someone" cannot list resource "clusters" in API group "flotilla.dev" at the cluster scope; ' +
      'grant the controller the shipped RBAC (kubectl apply --server-side -k config/rbac) bound to this user or service account',
  );
});

test('distinct denials are distinct problems', () => {
  const err = apiError(403, 'Forbidden', 'denied');
  const a = explainApiError(err, { server, verb: 'list', type: bundles });
  const b = explainApiError(err, { server, verb: 'list', type: KindResources.Cluster });
  assert.notEqual(a?.key, b?.key);
  assert.match(a!.message, /forbidden: the controller cannot list bundles\.flotilla\.dev at the cluster scope/);
});

test('401 and untrusted certificates are explained', () => {
  assert.equal(explainApiError(apiError(401, 'Unauthorized', 'Unauthorized'), { server, verb: 'list', type: bundles })?.category, 'unauthorized');
  const tls = Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
  assert.equal(explainApiError(tls, { server, verb: 'list', type: bundles })?.category, 'untrusted-certificate');
});

test('ordinary weather (5xx, 410, 429, resets) is left to the retry loops', () => {
  for (const [code, reason] of [[500, 'InternalError'], [504, 'Timeout'], [410, 'Expired'], [429, 'TooManyRequests'], [409, 'Conflict']] as const) {
    assert.equal(explainApiError(apiError(code, reason, 'x'), { server, verb: 'list', type: bundles }), undefined, `${code}`);
  }
  assert.equal(explainApiError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), { server, verb: 'watch', type: bundles }), undefined);
  assert.equal(explainApiError(new Error('boom'), { server, verb: 'list', type: bundles }), undefined);
});

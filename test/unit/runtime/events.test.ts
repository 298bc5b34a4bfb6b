import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { EventBudget } from '../../../src/runtime/event-budget.ts';
import { EventRecorder } from '../../../src/runtime/events.ts';
import { currentIsolation, runIsolated } from '../../../src/runtime/isolation.ts';
import { ApiError, isNamespaceTerminating } from '../../../src/runtime/errors.ts';
import type { ObjectWriter } from '../../../src/runtime/kube/interfaces.ts';
import type { Logger } from '../../../src/observability/logger.ts';

/** What the API server answers a create in a namespace being deleted (NamespaceLifecycle admission). */
function terminating(namespace: string): ApiError {
  const message = `events.events.k8s.io "x" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`;
  return new ApiError({
    statusCode: 403,
    reason: 'Forbidden',
    message,
    verb: 'create',
    resource: 'events.events.k8s.io',
    body: {
      kind: 'Status',
      status: 'Failure',
      reason: 'Forbidden',
      message,
      code: 403,
      details: { name: 'x', group: 'events.k8s.io', kind: 'events', causes: [{ reason: 'NamespaceTerminating', message, field: 'metadata.namespace' }] },
    },
  });
}

function rbacForbidden(): ApiError {
  const message = 'events.events.k8s.io is forbidden: User "flotilla" cannot create resource "events"';
  return new ApiError({ statusCode: 403, reason: 'Forbidden', message, verb: 'create', resource: 'events.events.k8s.io', body: { kind: 'Status', reason: 'Forbidden', message, code: 403, details: { kind: 'events' } } });
}

function recorderWith(fail: (namespace: string) => Error | undefined) {
  const lines: Array<{ level: string; msg: string }> = [];
  const log = (level: string) => (_obj: unknown, msg?: string) => void lines.push({ level, msg: msg ?? '' });
  const logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error'), child: () => logger } as unknown as Logger;
  const created: string[] = [];
  const client = {
    create: async (_type: unknown, obj: { metadata: { namespace: string } }) => {
      const error = fail(obj.metadata.namespace);
      if (error) throw error;
      created.push(obj.metadata.namespace);
      return obj;
    },
    patch: async () => ({}),
  } as unknown as ObjectWriter;
  const registry = new Registry();
  const recorder = new EventRecorder({ client, registry, controller: 'flotilla.dev/test', instance: 'test', logger });
  const results = async () =>
    Object.fromEntries(((await registry.getSingleMetric('flotilla_events_recorded_total')!.get()).values).map((v) => [String(v.labels.result), v.value]));
  return { recorder, lines, created, results };
}

const obj = (namespace: string, name = 'b') => ({ apiVersion: 'flotilla.dev/v1alpha1', kind: 'Bundle', metadata: { name, namespace, uid: `${namespace}/${name}` } });

describe('EventRecorder', () => {
  it('drops an Event into a namespace being deleted quietly: debug log, result dropped', async () => {
    const { recorder, lines, created, results } = recorderWith((ns) => (ns === 'closing' ? terminating(ns) : undefined));
    await recorder.record(obj('closing'), 'Warning', 'InvalidResources', 'bad');
    await recorder.record(obj('open'), 'Warning', 'InvalidResources', 'bad');
    assert.deepEqual(created, ['open']);
    assert.deepEqual(await results(), { dropped: 1, created: 1 });
    assert.deepEqual(lines.filter((l) => l.level !== 'debug'), [], 'nothing above debug');
    assert.deepEqual(lines.map((l) => l.msg), ['event dropped: its namespace is being deleted']);
  });

  it('still warns about any other refusal, a 403 from RBAC included', async () => {
    const { recorder, lines, results } = recorderWith(() => rbacForbidden());
    await recorder.record(obj('ws'), 'Warning', 'InvalidResources', 'bad');
    assert.deepEqual(await results(), { error: 1 });
    assert.deepEqual(lines.map((l) => [l.level, l.msg]), [['warn', 'could not record event']]);
  });
});

describe('EventRecorder.recordBestEffort', () => {
  it('records within the budget and drops beyond it, counted by cause in flotilla_events_dropped_total', async () => {
    const created: string[] = [];
    const client = {
      create: async (_type: unknown, obj: { reason: string }) => {
        created.push(obj.reason);
        return obj;
      },
      patch: async () => ({}),
    } as unknown as ObjectWriter;
    const registry = new Registry();
    let pressure = false;
    const budget = new EventBudget({ perObjectBurst: 2, burst: 100, underPressure: () => pressure });
    const recorder = new EventRecorder({ client, registry, controller: 'flotilla.dev/test', instance: 'test', budget });
    await recorder.recordBestEffort(obj('ws', 'a'), 'Normal', 'Ready', 'one');
    await recorder.recordBestEffort(obj('ws', 'a'), 'Normal', 'NotReady', 'two');
    await recorder.recordBestEffort(obj('ws', 'a'), 'Normal', 'Ready', 'three');
    pressure = true;
    await recorder.recordBestEffort(obj('ws', 'b'), 'Normal', 'Ready', 'four');
    // Problems are never budgeted.
    await recorder.record(obj('ws', 'a'), 'Warning', 'InvalidResources', 'bad');
    assert.deepEqual(created, ['Ready', 'NotReady', 'InvalidResources']);
    const dropped = (await registry.getSingleMetric('flotilla_events_dropped_total')!.get()).values.map((v) => [v.labels.reason, v.labels.cause, v.value]);
    assert.deepEqual(dropped, [['Ready', 'object_rate', 1], ['Ready', 'api_pressure', 1]]);
    assert.equal(budget.inFlight, 0, 'every admitted write released its slot');
  });

  it('writes outside the reconcile that triggers it (not held to the limit on reconciles\' requests)', async () => {
    let seen: unknown = 'unset';
    const client = {
      create: async (_type: unknown, o: unknown) => {
        seen = currentIsolation();
        return o;
      },
      patch: async () => ({}),
    } as unknown as ObjectWriter;
    const recorder = new EventRecorder({ client, registry: new Registry(), controller: 'flotilla.dev/test', instance: 'test' });
    await runIsolated({ controller: 'bundle', key: 'ws/a' }, () => recorder.recordBestEffort(obj('ws', 'a'), 'Normal', 'Ready', 'r'));
    assert.equal(seen, undefined);
  });
});

describe('isNamespaceTerminating', () => {
  it('recognises the NamespaceLifecycle refusal by its cause, nothing else', () => {
    assert.equal(isNamespaceTerminating(terminating('x')), true);
    assert.equal(isNamespaceTerminating(rbacForbidden()), false);
    assert.equal(isNamespaceTerminating(new ApiError({ statusCode: 404, message: 'gone', verb: 'create', resource: 'events', body: { details: { causes: [{ reason: 'NamespaceTerminating' }] } } })), false);
    assert.equal(isNamespaceTerminating(new Error('403 NamespaceTerminating')), false);
    assert.equal(isNamespaceTerminating(new ApiError({ statusCode: 403, message: 'x', verb: 'create', resource: 'events', body: 'not json' })), false);
  });
});

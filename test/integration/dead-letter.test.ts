import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeConfig } from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane } from '../../src/controlplane/harness.ts';
import { defaultConfig } from '../../src/config/index.ts';
import type { FlotillaConfig } from '../../src/config/schema.ts';
import { TerminalError } from '../../src/runtime/errors.ts';
import { enqueueHandler } from '../../src/runtime/informer/event-handlers.ts';
import { builtinTypes, type KubeObject, type ObjectList } from '../../src/runtime/kube/resource.ts';
import { Manager } from '../../src/runtime/manager.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { waitFor } from '../../src/util/wait.ts';

let cp: ControlPlane;
let manager: Manager;
const ns = 'dead-letter-test';
const reconciles = new Map<string, number>();

before(async () => {
  cp = await startControlPlane({ controllerManager: false });
  const config = structuredClone(defaultConfig()) as FlotillaConfig;
  config.leaderElection.enabled = false;
  config.metrics.bindAddress = '127.0.0.1:0';
  config.health.bindAddress = '127.0.0.1:0';
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(cp.adminKubeconfig);
  manager = new Manager({ config, kubeConfig, logger: silentLogger });
  await manager.client.create(builtinTypes.namespace, { metadata: { name: ns } });

  const events = manager.eventRecorder('test-controller');
  const informer = manager.informers.for(builtinTypes.configMap, { namespace: ns });
  const controller = manager.scheduler({
    name: 'poison-aware',
    reconcile: async (ctx) => {
      reconciles.set(ctx.key, (reconciles.get(ctx.key) ?? 0) + 1);
      const cm = informer.store.get(ctx.key);
      if (cm?.metadata.labels?.poison === 'true') {
        throw new TerminalError('InvalidPayload', `ConfigMap ${ctx.key} is labelled poison=true; remove the label`);
      }
    },
    onDeadLetter: async (key, error) => {
      const cm = informer.store.get(key);
      if (cm) await events.record(cm, 'Warning', (error as TerminalError).reason, (error as Error).message);
    },
  });
  informer.store.addHandler(enqueueHandler(controller));
  await manager.start();
});

after(async () => {
  await manager?.stop();
  await cp?.stop();
});

test('a terminal error dead-letters the key with an Event, others proceed, and a change releases it', async () => {
  const client = manager.client;
  await client.create(builtinTypes.configMap, { metadata: { name: 'bad', namespace: ns, labels: { poison: 'true' } } });
  for (let i = 0; i < 5; i++) await client.create(builtinTypes.configMap, { metadata: { name: `good-${i}`, namespace: ns } });

  await waitFor(() => [0, 1, 2, 3, 4].every((i) => reconciles.has(`${ns}/good-${i}`)), {
    timeoutMs: 20_000,
    description: 'healthy keys reconciled',
  });
  const event = await waitFor(
    async () => {
      const list = await client.list<KubeObject & { reason?: string; note?: string; type?: string; regarding?: { name?: string } }>(
        builtinTypes.event,
        { namespace: ns },
      );
      return list.items.find((e) => e.regarding?.name === 'bad');
    },
    { timeoutMs: 20_000, description: 'Warning event for the poison ConfigMap' },
  );
  assert.equal(event.type, 'Warning');
  assert.equal(event.reason, 'InvalidPayload');
  assert.match(event.note ?? '', /remove the label/);
  assert.equal(countDeadLettered(), 1);
  assert.equal(reconciles.get(`${ns}/bad`), 1, 'a terminal error is not retried');

  await client.patch(builtinTypes.configMap, 'bad', ns, { metadata: { labels: { poison: 'false' } } });
  await waitFor(() => (reconciles.get(`${ns}/bad`) ?? 0) >= 2, { timeoutMs: 20_000, description: 'released on change' });
  await waitFor(() => countDeadLettered() === 0, { timeoutMs: 5000, description: 'no longer dead-lettered' });
  const metrics = await manager.registry.getSingleMetricAsString('flotilla_dead_letter_total');
  assert.match(metrics, /flotilla_dead_letter_total\{[^}]*\} 1/);
  const list: ObjectList = await client.list(builtinTypes.event, { namespace: ns });
  assert.equal(list.items.length, 1, 'one event, no duplicates');
});

function countDeadLettered(): number {
  return manager.actors.stats().controllers.reduce((n, c) => n + c.deadLettered, 0);
}

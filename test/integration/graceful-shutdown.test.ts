import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane } from '../../src/controlplane/harness.ts';
import { KubeClient } from '../../src/runtime/kube/client.ts';
import { builtinTypes, type KubeObject } from '../../src/runtime/kube/resource.ts';
import type { Lease } from '../../src/runtime/leader-election.ts';
import { createRegistry } from '../../src/observability/metrics.ts';
import { waitFor } from '../../src/util/wait.ts';

let cp: ControlPlane;
let admin: KubeClient;
const ns = 'shutdown-test';
const fixture = fileURLToPath(new URL('./fixtures/slow-manager.ts', import.meta.url));

before(async () => {
  cp = await startControlPlane({ controllerManager: false });
  const kc = new KubeConfig();
  kc.loadFromFile(cp.adminKubeconfig);
  admin = new KubeClient({ kubeConfig: kc, registry: createRegistry({ defaultMetrics: false }) });
  await admin.create(builtinTypes.namespace, { metadata: { name: ns } });
  await admin.create(builtinTypes.namespace, { metadata: { name: 'flotilla-system' } });
  for (let i = 0; i < 9; i++) {
    await admin.create(builtinTypes.configMap, { metadata: { name: `cm-${i}`, namespace: ns, labels: { suite: 'shutdown' } } });
  }
});

after(async () => {
  await cp?.stop();
});

test('SIGTERM mid-reconcile: in-flight reconciles finish, the lease is released, exit 0', async () => {
  const child = spawn(process.execPath, [fixture, cp.adminKubeconfig, ns], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Array<Record<string, unknown>> = [];
  let stderr = '';
  let buffered = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    for (const line of parts) if (line.trim()) lines.push(JSON.parse(line));
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

  await waitFor(() => lines.filter((l) => l.event === 'reconcile-started').length >= 3, {
    timeoutMs: 30_000,
    description: 'three reconciles in flight',
  });
  const signalledAt = Date.now();
  child.kill('SIGTERM');
  const code = await exited;
  const shutdownMs = Date.now() - signalledAt;
  console.log(`# graceful shutdown took ${shutdownMs} ms`);
  assert.equal(code, 0, `exit code (stderr: ${stderr.slice(-2000)})`);

  const started = new Set(lines.filter((l) => l.event === 'reconcile-started').map((l) => String(l.key)));
  const finished = new Set(lines.filter((l) => l.event === 'reconcile-finished').map((l) => String(l.key)));
  assert.ok(started.size >= 3);
  assert.deepEqual([...finished].sort(), [...started].sort(), 'every reconcile that started also finished');
  for (const key of started) {
    const cm = await admin.get<KubeObject>(builtinTypes.configMap, key.split('/')[1]!, ns);
    assert.ok(cm.metadata.annotations?.['flotilla.dev/reconciled'], `${key} was stamped before exit`);
  }
  assert.ok(started.size < 9, 'intake stopped: not every key was reconciled after SIGTERM');

  const lease = await admin.get<Lease>(builtinTypes.lease, 'slow-manager', 'flotilla-system');
  assert.equal(lease.spec?.holderIdentity, '', 'lease released on shutdown');

  const steps = lines.filter((l) => typeof l.step === 'string').map((l) => String(l.step));
  const order = ['drain reconciles', 'release lease', 'stop informers', 'close http'];
  const positions = order.map((s) => steps.indexOf(s));
  assert.ok(positions.every((p) => p >= 0), `all steps logged: ${steps.join(', ')}`);
  assert.deepEqual([...positions].sort((a, b) => a - b), positions, `steps ran in order: ${steps.join(', ')}`);
});

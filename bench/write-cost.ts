/**
 * What each way of writing costs the API server: kube-apiserver and etcd CPU
 * seconds per request, and wall time, for N BundleDeployments written at a
 * given concurrency as
 *
 *   create        POST (what `direct` does for a new BundleDeployment)
 *   apply-create  server-side apply of an object that does not exist yet
 *   apply-noop    server-side apply of an unchanged object
 *   apply-status  server-side apply of /status (a Bundle summary)
 *   merge-status  JSON merge patch of /status (what `direct` does)
 *
 *   node_modules/.bin/node bench/write-cost.ts [--objects N] [--concurrency N] [--json FILE]
 *
 * One local control plane for every mode, same objects (as the controller
 * writes them), modes run one after the other on a quiet server.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { Kind } from '../src/api/constants.ts';
import { KindResources } from '../src/api/kinds.ts';
import { desiredBundleDeployment } from '../src/placement/bundle-deployments.ts';
import { computeBundleStatus } from '../src/placement/summary.ts';
import { PatchType } from '../src/runtime/kube/client.ts';
import type { KubeObject } from '../src/runtime/kube/resource.ts';
import { builtinTypes } from '../src/runtime/kube/resource.ts';
import { startBenchEnv } from './lib/env.ts';
import { cpuDelta } from './lib/proc-stats.ts';
import { cpus, loadavg, totalmem } from 'node:os';
import { Limiter } from './baselines/runtime.ts';

const { values: args } = parseArgs({
  options: {
    objects: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '64' },
    json: { type: 'string', default: 'bench/results/write-cost.json' },
  },
});
const N = Number(args.objects);
const concurrency = Number(args.concurrency);
const NS = 'write-cost';

const env = await startBenchEnv({ log: (l) => process.stderr.write(`${l}\n`) });
try {
  const c = env.admin;
  await c.create(builtinTypes.namespace, { metadata: { name: NS } } as KubeObject);
  const bundle = await c.create(KindResources[Kind.Bundle], { metadata: { name: 'b', namespace: NS }, spec: { resources: [], targets: [] } } as unknown as KubeObject);
  const bodies = Array.from({ length: N }, (_, i) =>
    desiredBundleDeployment({
      bundle: bundle as never,
      cluster: { metadata: { name: `cluster-${i}`, namespace: NS, labels: { env: 'prod' } }, spec: {} } as never,
      contentName: `s-${'0123456789abcdef'.repeat(4)}`,
    }) as unknown as KubeObject,
  );
  const bundles: KubeObject[] = [];
  for (let i = 0; i < N; i++) bundles.push({ metadata: { name: `b-${i}`, namespace: NS }, spec: { resources: [], targets: [] } } as unknown as KubeObject);

  const run = async (name: string, op: (i: number) => Promise<unknown>) => {
    const limiter = new Limiter(concurrency);
    const cpuBefore = env.controlPlane.cpu();
    const started = performance.now();
    await Promise.all(Array.from({ length: N }, (_, i) => limiter.run(() => op(i))));
    const seconds = (performance.now() - started) / 1000;
    const cpu = cpuDelta(cpuBefore, env.controlPlane.cpu());
    const row = { mode: name, seconds, apiServerCpuMsPerWrite: ((cpu['kube-apiserver'] ?? 0) * 1000) / N, etcdCpuMsPerWrite: ((cpu.etcd ?? 0) * 1000) / N };
    process.stderr.write(`${JSON.stringify(row)}\n`);
    return row;
  };
  const bdType = KindResources[Kind.BundleDeployment];
  const bType = KindResources[Kind.Bundle];
  const rows = [];
  // Each mode writes its own fresh objects, so none pays for another's history.
  const renamed = (o: KubeObject, prefix: string, i: number) => ({ ...o, metadata: { ...o.metadata, namespace: NS, name: `${prefix}-${o.metadata.name}-${i}` } });
  rows.push(await run('create', (i) => c.create(bdType, renamed(bodies[i]!, 'c', i))));
  rows.push(await run('apply-create', (i) => c.apply(bdType, renamed(bodies[i]!, 'a', i), { force: true })));
  rows.push(await run('apply-noop', (i) => c.apply(bdType, renamed(bodies[i]!, 'a', i), { force: true })));
  for (const b of bundles) await c.create(bType, b);
  // A summary as the controller computes it: targeted Clusters whose BundleDeployments have no status yet.
  const status = (i: number, targeted: number) =>
    computeBundleStatus({
      bundle: { metadata: { name: `b-${i}`, namespace: NS, generation: 1 }, spec: { resources: [], targets: [] } } as never,
      targetedClusters: Array.from({ length: targeted }, (_, k) => `cluster-${k}`),
      bundleDeployments: [],
      desiredDeploymentID: undefined,
      contentName: undefined,
      problems: [],
      now: new Date(),
    });
  rows.push(await run('apply-status', (i) => c.apply(bType, { metadata: { name: `b-${i}`, namespace: NS }, status: status(i, 10) } as unknown as KubeObject, { force: true, subresource: 'status' })));
  rows.push(await run('merge-status', (i) => c.patch(bType, `b-${i}`, NS, { status: status(i, 11) }, { contentType: PatchType.merge, subresource: 'status' })));
  const table = ['| mode | seconds | writes/s | apiserver CPU ms/write | etcd CPU ms/write |', '|---|--:|--:|--:|--:|', ...rows.map((r) => `| ${r.mode} | ${r.seconds.toFixed(2)} | ${(N / r.seconds).toFixed(0)} | ${r.apiServerCpuMsPerWrite.toFixed(2)} | ${r.etcdCpuMsPerWrite.toFixed(2)} |`)];
  console.log(`write-cost: ${N} objects per mode, ${concurrency} in flight, ${env.kubernetesVersion}\n\n${table.join('\n')}`);
  mkdirSync(dirname(args.json!), { recursive: true });
  writeFileSync(args.json!, `${JSON.stringify({ scenario: 'write-cost', objects: N, concurrency, machine: { cores: cpus().length, cpuModel: cpus()[0]?.model ?? '', memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10, loadAverage: loadavg() }, kubernetesVersion: env.kubernetesVersion, date: new Date().toISOString(), rows }, null, 2)}\n`);
} finally {
  await env.stop();
}

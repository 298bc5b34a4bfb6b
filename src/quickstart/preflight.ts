/**
 * Whether the local quick start can run here, asked before anything starts:
 * it needs the control plane's Go module (a source checkout; the container
 * image has none), the control-plane binaries or a Go toolchain to build
 * them, and openssl for the cluster's certificates.
 */
import { spawnSync } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';
import { planBuild, TOOLS_DIR } from '../controlplane/binaries.ts';

/** Undefined when the quick start can run; otherwise why not, as a clause ending in what to do. */
export async function localModeUnavailable(env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  try {
    await access(join(TOOLS_DIR, 'go.mod'), constants.R_OK);
  } catch {
    return 'this installation has no local control plane (it needs a source checkout of Flotilla)';
  }
  const plan = await planBuild(env);
  const names = ['kube-apiserver', 'kube-controller-manager', 'etcd'];
  const cached = await Promise.all(names.map((n) => access(join(plan.binDir, n), constants.X_OK).then(() => true, () => false)));
  if (!cached.every(Boolean) && !runs(env.FLOTILLA_GO || 'go', ['version'])) {
    return `its control plane must be built once with Go, and \`${env.FLOTILLA_GO || 'go'}\` was not found (install Go 1.21+ or set FLOTILLA_GO)`;
  }
  if (!runs(env.FLOTILLA_OPENSSL || 'openssl', ['version'])) {
    return `\`${env.FLOTILLA_OPENSSL || 'openssl'}\` was not found (install OpenSSL or set FLOTILLA_OPENSSL)`;
  }
  return undefined;
}

function runs(command: string, args: string[]): boolean {
  const result = spawnSync(command, args, { stdio: 'ignore', timeout: 10_000 });
  return result.error === undefined && result.status === 0;
}

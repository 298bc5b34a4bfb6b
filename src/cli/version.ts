/** `flotilla version`: what this build is, and what it was tested against. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseCommandArgs } from './args.ts';
import { packageVersion } from './paths.ts';

export const summary = 'Print the Flotilla, Node.js and pinned Kubernetes/etcd versions';

export const usage = `Usage: flotilla version [--json]

Prints the Flotilla version, the Node.js running it, and (in a source
checkout) the Kubernetes and etcd versions the local control plane pins.

Options:
  --json       One JSON object instead of lines.
  -h, --help   Show this help.`;

export async function versionCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('version', argv, { json: { type: 'boolean' } });
  const info: Record<string, string> = { flotilla: packageVersion(), node: process.versions.node, platform: `${process.platform}/${process.arch}` };
  const pins = await pinnedControlPlane();
  if (pins) Object.assign(info, pins);
  if (values.json) {
    console.log(JSON.stringify(info));
    return 0;
  }
  console.log(`flotilla ${info.flotilla}`);
  console.log(`node ${info.node} (${info.platform})`);
  if (pins) console.log(`local control plane: Kubernetes ${pins.kubernetes}, etcd ${pins.etcd}`);
  else console.log('local control plane: not in this installation');
  return 0;
}

async function pinnedControlPlane(): Promise<{ kubernetes: string; etcd: string } | undefined> {
  // binaries.ts is where the pins are read; imported lazily, it is a few
  // small modules, and the tools directory exists only in a checkout.
  const { TOOLS_DIR, pinnedVersions } = await import('../controlplane/binaries.ts');
  let goMod: string;
  try {
    goMod = await readFile(join(TOOLS_DIR, 'go.mod'), 'utf8');
  } catch {
    return undefined;
  }
  const { kubernetesVersion, etcdVersion } = pinnedVersions(goMod);
  return { kubernetes: kubernetesVersion, etcd: etcdVersion };
}

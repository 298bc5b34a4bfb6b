/**
 * `flotilla apply`, the implementation (src/cli/apply.ts has the usage).
 * stdout carries the result (the kubectl-style line, the --dry-run YAML,
 * the --diff); warnings go to stderr.
 */
import { Registry } from 'prom-client';
import { stringify } from 'yaml';
import { DNS1123_LABEL_MAX_LENGTH, DNS1123_LABEL_PATTERN } from '../api/patterns.ts';
import { applyBundle, dryRunApply, explainApplyError, FIELD_MANAGER, readLiveBundle } from '../apply/apply-bundle.ts';
import { BUNDLE_RESOURCE, diffBundles, type DiffableBundle } from '../apply/bundle-diff.ts';
import { prepareBundle, type PreparedBundle } from '../apply/prepare.ts';
import { InputError } from '../apply/problems.ts';
import { SETTINGS_FILE } from '../apply/sources.ts';
import { KubeClient } from '../runtime/kube/client.ts';
import { Exit, parseCommandArgs, UsageError } from './args.ts';
import { loadCommandKubeconfig, type LoadedKubeconfig } from './kubeconfig.ts';
import { packageVersion } from './paths.ts';

const OPTIONS = {
  namespace: { type: 'string', short: 'n' },
  filename: { type: 'string', short: 'f', multiple: true },
  'dry-run': { type: 'boolean' },
  diff: { type: 'boolean' },
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  kubectl: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** --diff's exit codes, as kubectl diff's. */
export const DiffExit = { NoChanges: 0, Changes: 1, Error: 2 } as const;

export async function runApply(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const diffMode = argv.includes('--diff');
  try {
    return await applyOrThrow(argv, env);
  } catch (error) {
    if (error instanceof InputError || error instanceof UsageError) {
      console.error(error.message);
      return Exit.Usage;
    }
    const explained = error instanceof ApplyFailure ? error.message : undefined;
    console.error(`flotilla: ${explained ?? (error instanceof Error ? error.message : String(error))}`);
    if (env.FLOTILLA_DEBUG && error instanceof Error && error.stack) console.error(error.stack);
    return diffMode ? DiffExit.Error : Exit.Failure;
  }
}

class ApplyFailure extends Error {
  override name = 'ApplyFailure';
}

const dnsLabel = new RegExp(DNS1123_LABEL_PATTERN);

async function applyOrThrow(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values, positionals } = parseCommandArgs('apply', argv, OPTIONS, true);
  if (positionals.length === 0 || positionals.length > 2) {
    throw new UsageError(`\`flotilla apply\` takes a Bundle NAME and a DIR (or -f FILE), got ${positionals.length} arguments; run \`flotilla apply --help\` for usage.`);
  }
  const [name, dir] = positionals as [string, string | undefined];
  if (name.length > DNS1123_LABEL_MAX_LENGTH || !dnsLabel.test(name)) {
    throw new UsageError(`Bundle name "${name}" must be a DNS label (lower-case letters, digits and "-", at most ${DNS1123_LABEL_MAX_LENGTH} characters): BundleDeployments carry it as a label value.`);
  }
  const files = values.filename ?? [];
  if (dir === undefined && files.length === 0) throw new UsageError('`flotilla apply` needs a DIR of manifests or -f FILE; run `flotilla apply --help` for usage.');
  if (values['dry-run'] && values.diff) throw new UsageError('--dry-run and --diff exclude each other: --dry-run prints the Bundle, --diff compares it with the live one.');

  // The cluster is needed for everything but a --dry-run given -n.
  let cluster: LoadedKubeconfig | undefined;
  const connect = () => (cluster ??= loadCommandKubeconfig(values.kubeconfig, values.context, env));
  let namespace = values.namespace;
  if (namespace === undefined) {
    try {
      namespace = connect().namespace;
    } catch (error) {
      if (!(error instanceof UsageError) || !values['dry-run']) throw error;
    }
    if (namespace === undefined) {
      throw new UsageError('`flotilla apply` needs -n WORKSPACE, the workspace namespace of the Bundle (the kubeconfig context sets no namespace).');
    }
  }
  if (!dnsLabel.test(namespace)) throw new UsageError(`-n "${namespace}" is not a namespace name (a DNS label).`);

  const prepared = await prepareBundle({
    name,
    namespace,
    dir,
    files,
    kubectl: values.kubectl,
    env,
    readStdin: () => readAll(process.stdin),
  });
  if (values['dry-run']) {
    process.stdout.write(stringify(prepared.bundle, { lineWidth: 0 }));
    console.error(`${describe(prepared)}; dry run: nothing sent`);
    return Exit.Ok;
  }

  const { kubeConfig } = connect();
  const client = new KubeClient({
    kubeConfig,
    registry: new Registry(),
    userAgent: `flotilla-apply/${packageVersion()}`,
    fieldManager: FIELD_MANAGER,
    requestTimeoutMs: 30_000,
  });
  try {
    if (values.diff) {
      const live = await readLiveBundle(client, name, namespace);
      const applied = await dryRunApply(client, prepared.bundle);
      const diff = diffBundles(live as DiffableBundle | undefined, applied as DiffableBundle);
      process.stdout.write(diff.text);
      return diff.changed ? DiffExit.Changes : DiffExit.NoChanges;
    }
    const result = await applyBundle(client, prepared.bundle);
    if (result.takenOver.length > 0) {
      console.error(`Warning: took over fields that other field managers owned (as kubectl apply --server-side --force-conflicts does): ${result.takenOver.join(', ')}`);
    }
    if ((result.stored.spec.targets ?? []).length === 0) {
      const where = dir === undefined ? `a ${SETTINGS_FILE} next to the manifests` : `${dir}/${SETTINGS_FILE}`;
      console.error(`Warning: ${BUNDLE_RESOURCE}/${name} has no targets, so it is deployed to no Cluster; set targets in ${where}.`);
    }
    console.log(`${BUNDLE_RESOURCE}/${name} ${result.outcome}`);
    return Exit.Ok;
  } catch (error) {
    const explained = explainApplyError(error, client.server, namespace);
    if (explained !== undefined) throw new ApplyFailure(explained, { cause: error });
    throw error;
  } finally {
    await client.close();
  }
}

/** "bundle.flotilla.dev/web: 4 resources (5 objects) from DIR (kubectl kustomize), settings from DIR/flotilla.yaml" */
function describe(prepared: PreparedBundle): string {
  const { bundle, sources, objects, settingsFile, kustomization } = prepared;
  const from = kustomization === undefined ? '' : `, rendered from ${kustomization}`;
  const settings = settingsFile === undefined ? ', no settings file' : `, settings from ${settingsFile}`;
  return `${BUNDLE_RESOURCE}/${bundle.metadata.name}: ${sources.length} resources (${objects} objects)${from}${settings}`;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

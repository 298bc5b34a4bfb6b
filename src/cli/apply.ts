/**
 * `flotilla apply`: a Bundle from a directory of manifests (src/apply). The
 * implementation, src/cli/apply-command.ts, is loaded on use: it pulls in
 * the API client, which `flotilla --help` does without.
 */
import { KUBECTL_ENV } from '../apply/kustomize.ts';
import { Exit } from './args.ts';

export const summary = 'Create or update a Bundle from a directory of manifests (or a kustomization)';

export const usage = `Usage: flotilla apply NAME DIR -n WORKSPACE [options]
       flotilla apply NAME [DIR] -f FILE [-f FILE ...] -n WORKSPACE [options]

Builds Bundle NAME in namespace WORKSPACE from the manifests in DIR and
server-side applies it (field manager flotilla-apply, taking over fields
from other managers with a warning that names them), then prints
bundle.flotilla.dev/NAME created, configured or unchanged.

DIR is read recursively in a fixed order: every .yaml, .yml and .json file is
one resource of the Bundle, named by its path relative to DIR
(app/deployment.yaml), multi-document YAML included. Other files are
ignored, as are hidden files and directories (.git) and links to
directories. Empty files are skipped. Every document must be a Kubernetes
object with apiVersion, kind and metadata.name; mistakes are reported as
FILE:LINE, all at once, and nothing is sent.

If DIR holds a kustomization (kustomization.yaml, kustomization.yml or
Kustomization), it is rendered with \`kubectl kustomize DIR\` instead, as
\`kubectl apply -k\` would, and each rendered object becomes one resource named
[NAMESPACE/]KIND[.GROUP]/NAME.yaml.

DIR/flotilla.yaml, if present, is not a resource: it holds the Bundle's
settings, checked against the Bundle schema (unknown fields are errors):
  targets:            # where to deploy (Bundle spec.targets)
    - clusterSelector: {matchLabels: {env: prod}}
  options: {defaultNamespace: web}     # spec.options
  rolloutStrategy: {maxUnavailable: 1} # spec.rolloutStrategy
  paused: false                        # spec.paused
  labels: {team: web}                  # the Bundle's labels
  annotations: {}                      # the Bundle's annotations
Settings and files left out are removed from the Bundle on the next apply
(they are no longer set by flotilla-apply); fields set by others stay.

The manifests must fit one Bundle: at most 512 files, 1,048,576 bytes each
and 1,310,720 bytes together as stored (etcd stores objects of at most
1.5 MiB, and the manifests are stored twice: in the Bundle and in its
Content). Larger input is refused before anything is sent.

Options:
  -n, --namespace WORKSPACE   Workspace namespace of the Bundle (default: the
                              namespace of the kubeconfig context, if it sets one).
  -f, --filename FILE         A manifest file (repeatable; - reads stdin), instead
                              of or in addition to DIR; named by its base name.
  --dry-run                   Print the Bundle as YAML and send nothing (no cluster
                              needed when -n is given).
  --diff                      Show what the apply would change in the live Bundle
                              (server-side dry run): per resource added, removed or
                              changed with a unified diff, then other changed fields.
                              Exit 0: no changes; 1: changes; 2: error.
  --kubeconfig FILE           Kubeconfig (default: $KUBECONFIG, else ~/.kube/config,
                              else the pod's service account).
  --context NAME              Kubeconfig context (default: its current context).
  --kubectl PATH              kubectl for rendering a kustomization (default:
                              $${KUBECTL_ENV}, else kubectl on PATH).
  -h, --help                  Show this help.

Exit codes: 0 applied (or, with --diff, no changes); 1 the API server refused
or failed (with --diff: changes found); 2 usage or input error, nothing sent
(with --diff: any error).`;

export async function applyCommand(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  if (argv.length === 0) {
    console.log(usage);
    return Exit.Usage;
  }
  const { runApply } = await import('./apply-command.ts');
  return runApply(argv, env);
}

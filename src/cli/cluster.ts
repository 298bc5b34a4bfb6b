/**
 * `flotilla cluster add|remove`: registering a downstream cluster with the
 * management cluster and installing its agent (src/registration), and
 * undoing both. The implementation, src/cli/cluster-commands.ts, is loaded on
 * use: it needs @kubernetes/client-node, which the rest of the CLI skips.
 */
import { DEFAULT_AGENT_NAMESPACE } from '../registration/names.ts';
import { Exit } from './args.ts';

export const summary = 'Register a downstream cluster and install its agent (add), or undo that (remove)';

export const IMAGE_REPOSITORY = 'flotilla';
export const DEFAULT_TIMEOUT = '60s';

export const usage = `Usage: flotilla cluster add NAME -n WORKSPACE --kubeconfig DOWNSTREAM [options]
       flotilla cluster add NAME -n WORKSPACE --print [options] > agent.yaml
       flotilla cluster add NAME -n WORKSPACE --kubeconfig DOWNSTREAM --run-local [--dir DIR]
       flotilla cluster remove NAME -n WORKSPACE [--kubeconfig DOWNSTREAM] [options]

add: creates (or updates the labels of) Cluster NAME in WORKSPACE on the
management cluster, waits for the controller to give it a deployment
namespace, creates the agent's identity there (ServiceAccount, Role,
RoleBinding and token Secret flotilla-agent[-token], ClusterRoleBinding
flotilla-agent:<namespace> to flotilla-agent-content-reader), and installs
the agent in the downstream cluster: namespace, ServiceAccount, RBAC
(cluster-admin equivalent: the downstream cluster trusts its Bundles),
upstream kubeconfig Secret, config ConfigMap and Deployment. Every write is
a server-side apply (field manager flotilla-cli): running it again converges.

remove: deletes the Cluster (the controller deletes its BundleDeployments
and deployment namespace; a running agent removes what it deployed), waits
for the namespace to go, deletes the ClusterRoleBinding, and with
--kubeconfig the downstream installation (the namespace is kept while it
holds ApplySet parents). Removing an absent cluster is not an error.

Options:
  -n, --namespace WORKSPACE     Workspace namespace of the Cluster (required).
  --kubeconfig FILE             Downstream cluster's kubeconfig (add: required
                                unless --print; remove: uninstall the agent there).
  --context NAME                Context of the downstream kubeconfig (default: its current one).
  --upstream-kubeconfig FILE    Management cluster (default: $KUBECONFIG, else ~/.kube/config).
  --upstream-context NAME       Context of the management cluster's kubeconfig (default: its current one).
  --agent-namespace NS          Downstream namespace of the agent (default ${DEFAULT_AGENT_NAMESPACE}).
  --timeout DUR                 Bound on each wait (default ${DEFAULT_TIMEOUT}).
add only:
  --labels k=v,...              The Cluster's labels (what Bundle targets select on).
  --image IMAGE                 Agent image (default ${IMAGE_REPOSITORY}:<flotilla version>).
  --upstream-server URL         API server URL the agent dials (default: the upstream
                                kubeconfig's; set it when that is not reachable from
                                the downstream cluster).
  --print                       Write the downstream installation as YAML to stdout
                                instead of applying it (progress goes to stderr).
  --run-local                   Run the agent in this process instead of installing it.
  --dir DIR                     With --run-local: where its upstream kubeconfig goes
                                (default .cache/agents/<workspace>-<name>).
  -h, --help                    Show this help.

Check: kubectl get cluster NAME -n WORKSPACE (condition AgentConnected).`;

export async function clusterCommand(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '-h' || sub === '--help' || rest.includes('-h') || rest.includes('--help')) {
    console.log(usage);
    return sub === undefined ? Exit.Usage : Exit.Ok;
  }
  const { runClusterCommand } = await import('./cluster-commands.ts');
  return runClusterCommand(sub, rest, env);
}

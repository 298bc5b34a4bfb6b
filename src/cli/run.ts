/** `flotilla run`: the controller (src/run.ts), or the quick start when no cluster is configured. */
import { run } from '../run.ts';

export const summary = 'Run the controller (against a cluster, or the local quick start when none is configured)';

export const usage = `Usage: flotilla run [options]

Runs the Flotilla controller until SIGTERM or SIGINT (Ctrl-C), which shut it
down gracefully: in-flight reconciles finish, the leader lease is released.

The cluster is the first of: --kubeconfig FILE, $KUBECONFIG, ~/.kube/config,
the pod's service account (inside Kubernetes); the first line on stderr says
which server and context it connects to. With none of them, or with
--local, it runs the quick start: a local management control plane and two
local downstream ones (built with Go on first use), the CRDs, the shipped
RBAC, the demo workspace from config/samples, the controller, and one agent
per downstream cluster, with a live progress line until Ctrl-C.

Options:
  --kubeconfig FILE     Kubeconfig to use.
  --context NAME        Context of the kubeconfig (default: its current context).
  --config FILE         Config file (default: $FLOTILLA_CONFIG, else config/flotilla.yaml).
  --log-level LEVEL     trace, debug, info, warn, error, fatal or silent
                        (default: $FLOTILLA_LOG_LEVEL, else log.level in the config).
  --log-format FORMAT   json (one object per line) or text (readable lines)
                        (default: $FLOTILLA_LOG_FORMAT, else log.format in the config).
  --local               Run the quick start even if a cluster is configured.
  --no-local            Never run the quick start: with no cluster configured, exit 2.
  --dir DIR             Quick start working directory: kubeconfigs, certificates,
                        logs of the controller and agents (default:
                        .cache/quickstart in the checkout).
  -h, --help            Show this help.

Logs are JSON lines on stdout, or text with --log-format text (in the quick
start: in DIR/flotilla.log, with errors also shown on the terminal). Exit codes: see \`flotilla --help\`.`;

export function runCommand(argv: string[]): Promise<number> {
  return run({ argv });
}

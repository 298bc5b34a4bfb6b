import type { ApiTransport } from '../../src/runtime/kube/http-sender.ts';

/**
 * The TypeScript baselines (direct, naive, direct-agent) speak HTTP/1.1, as
 * they did before the client learned HTTP/2, so their numbers stay
 * comparable from run to run. The controller and agents under test follow
 * their config's `api.transport` (a bench variant may set it); the Go
 * baseline speaks what client-go negotiates (HTTP/2).
 */
export const BASELINE_TRANSPORT: ApiTransport = 'http1';

/**
 * The bench's own clients (setup, the load generator) stay on HTTP/1.1 too:
 * the API server's cost of the load they generate is then the same
 * whichever transport the controller under test uses.
 */
export const BENCH_TOOL_TRANSPORT: ApiTransport = 'http1';

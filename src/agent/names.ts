/**
 * Names shared by the agent, its registration (`flotilla cluster add`) and
 * the controller: the contract between them (README: the agent).
 */

/** Heartbeat Lease in the Cluster's deployment namespace on the management cluster (the controller reads it). */
export { AGENT_LEASE_NAME as AGENT_HEARTBEAT_LEASE } from '../api/constants.ts';
/** Leader-election Lease among agent replicas, in the agent's namespace on its downstream cluster. */
export const AGENT_LEADER_LEASE = 'flotilla-agent-leader';
/** The agent's namespace on its downstream cluster: its Deployment and the ApplySet parents. */
export const DEFAULT_AGENT_NAMESPACE = 'flotilla-system';
/** Server-side apply field manager of everything the agent applies downstream. */
export const AGENT_FIELD_MANAGER = 'flotilla-agent';

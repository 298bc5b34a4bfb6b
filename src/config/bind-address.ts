/**
 * Bind addresses in controller-runtime's notation: `:8080` (all interfaces),
 * `127.0.0.1:8080`, `[::1]:8080`, `localhost:0` (any free port), and `0`
 * (the endpoint is disabled).
 */
export interface BindAddress {
  /** undefined = all interfaces (Node listens on `::` and, dual-stack, on 0.0.0.0). */
  host: string | undefined;
  port: number;
}

/**
 * Parses a bind address; returns null when it disables the endpoint.
 * Throws a RangeError naming the problem for anything else invalid (the
 * config schema rejects those earlier; this guards programmatic callers).
 */
export function parseBindAddress(address: string | number): BindAddress | null {
  if (address === 0 || address === '0') return null;
  if (typeof address !== 'string') throw new RangeError(`invalid bind address ${String(address)}: expected "host:port", ":port" or 0`);
  const separator = address.lastIndexOf(':');
  if (separator < 0) throw new RangeError(`invalid bind address "${address}": expected "host:port", ":port" or 0`);
  let host = address.slice(0, separator);
  const portText = address.slice(separator + 1);
  if (!/^[0-9]{1,5}$/.test(portText) || Number(portText) > 65_535) {
    throw new RangeError(`invalid bind address "${address}": port must be an integer between 0 and 65535`);
  }
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  else if (host.includes(':')) {
    throw new RangeError(`invalid bind address "${address}": write IPv6 hosts in brackets, e.g. "[::1]:8080"`);
  }
  return { host: host === '' ? undefined : host, port: Number(portText) };
}

/** `host:port` for logs and URLs; IPv6 hosts in brackets. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * `node service-forwarder.ts LISTEN_HOST LISTEN_PORT TARGET_HOST TARGET_PORT`:
 * relays TCP connections, nothing more. The local node runs it so pods reach
 * the API server at the `kubernetes` Service address their in-cluster config
 * dials (KUBERNETES_SERVICE_HOST:443) without kube-proxy or iptables: the
 * node puts that address on its pod bridge, pods route to it through their
 * default gateway, and this relays to the API server on loopback. TLS passes
 * through untouched (the serving certificate names the Service IP).
 */
import { connect, createServer } from 'node:net';

const [listenHost, listenPort, targetHost, targetPort] = process.argv.slice(2);
if (!listenHost || !listenPort || !targetHost || !targetPort) {
  process.stderr.write('usage: service-forwarder.ts LISTEN_HOST LISTEN_PORT TARGET_HOST TARGET_PORT\n');
  process.exit(2);
}

const server = createServer((client) => {
  const upstream = connect(Number(targetPort), targetHost);
  client.pipe(upstream).pipe(client);
  // Either side failing ends both; a reset is an ordinary way for TLS peers to part.
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
  client.on('close', () => upstream.destroy());
  upstream.on('close', () => client.destroy());
});
server.on('error', (error) => {
  process.stderr.write(`service-forwarder: ${error.message}\n`);
  process.exit(1);
});
server.listen(Number(listenPort), listenHost, () => {
  process.stdout.write(`forwarding ${listenHost}:${listenPort} to ${targetHost}:${targetPort}\n`);
});

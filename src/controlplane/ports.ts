import { createServer, type Server } from 'node:net';

/**
 * Picks `count` distinct free TCP ports on loopback, the way envtest does:
 * bind port 0, read the port, release it. All listeners are held open until
 * every port is known, so one call never returns the same port twice. A
 * third party may still grab a port before the component binds it; the
 * component then fails to start and reports the address in use.
 */
export async function allocateFreePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ port: 0, host, exclusive: true }, () => resolve());
      });
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('Could not determine a free TCP port.');
      ports.push(address.port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}

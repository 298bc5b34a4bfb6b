/**
 * The HTTP endpoints every baseline serves, as the controller does: the
 * benchmark scrapes `/metrics` and waits for `/readyz` the same way for
 * every system. Returns the bound port and how to close the server.
 */
import { createServer } from 'node:http';
import type { Registry } from 'prom-client';

export async function serveBaselineEndpoints(
  registry: Registry,
  synced: () => boolean,
  log: (msg: string, fields: Record<string, unknown>) => void,
): Promise<{ port: number; close: () => void }> {
  const server = createServer((req, res) => {
    if (req.url === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
    } else if (req.url === '/readyz') {
      res.writeHead(synced() ? 200 : 503).end(synced() ? 'ok' : 'informers not synced');
    } else if (req.url === '/healthz') {
      res.writeHead(200).end('ok');
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  // The line the benchmark waits for, in the controller's own words.
  log('serving', { url: `http://127.0.0.1:${port}`, paths: ['/metrics', '/healthz', '/readyz'] });
  return { port, close: () => server.close() };
}

/** Resolves on the first SIGTERM or SIGINT: a baseline shuts down when told, as the controller does. */
export function stopRequested(): Promise<void> {
  return new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
}

// The /metrics HTTP endpoint (also the liveness/readiness probe target, docs/behaviour/controller.md#readiness): serves a
// prom-client registry in the Prometheus text format. Anything else is 404.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from '../util/log.js';

export interface MetricsServer {
  readonly server: Server;
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  close(): Promise<void>;
}

/** Listens on host:port (host undefined = all interfaces) and serves GET /metrics. */
export async function startMetricsServer(registry: Registry, port: number, host: string | undefined, log: Logger): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('404 page not found\n');
      return;
    }
    registry.metrics().then((text) => {
      res.writeHead(200, { 'Content-Type': registry.contentType }).end(req.method === 'HEAD' ? undefined : text);
    }, (err: unknown) => {
      log.error({ op: 'metrics', error: err instanceof Error ? err.message : String(err) }, 'failed to render metrics');
      res.writeHead(500, { 'Content-Type': 'text/plain' }).end('error\n');
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    server,
    port: bound,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

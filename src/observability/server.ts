/**
 * The metrics endpoint: `GET /metrics` (Prometheus text format) and `GET /healthz`, on a port of its own
 * (`TENURE_METRICS_PORT`) so it is never exposed with the intake's public routes.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface MetricsServerOptions {
  /** 0 picks a free port. */
  port: number;
  /** @default "127.0.0.1" (use "0.0.0.0" in a container) */
  host?: string;
  registry: Registry;
  /** More exposition text appended after the registry's (e.g. another exporter's scrape); errors are logged in it. */
  extraText?: () => Promise<string>;
}

export interface RunningMetricsServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

async function metricsText(opts: MetricsServerOptions): Promise<string> {
  const own = await opts.registry.metrics();
  if (!opts.extraText) return own;
  let extra: string;
  try {
    extra = await opts.extraText();
  } catch (err) {
    extra = `# extra metrics unavailable: ${(err as Error).message.replace(/\s+/g, ' ')}\n`;
  }
  return `${own.endsWith('\n') || own === '' ? own : `${own}\n`}${extra}`;
}

function handler(opts: MetricsServerOptions) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      return;
    }
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics\n');
      return;
    }
    metricsText(opts).then(
      (text) => {
        res.writeHead(200, { 'content-type': opts.registry.contentType });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (err: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${(err as Error).message}\n`);
      },
    );
  };
}

/** Serves the registry until `close()`. */
export async function startMetricsServer(opts: MetricsServerOptions): Promise<RunningMetricsServer> {
  const host = opts.host ?? '127.0.0.1';
  const server = createServer(handler(opts));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

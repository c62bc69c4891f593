import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { invalidOptions, OBSERVABILITY_ERRORS, ObservabilityError } from './errors.ts';

/** What a metrics scrape answers, independent of the HTTP framework that sends it. */
export interface MetricsResponse {
  status: number;
  contentType: string;
  body: string;
}

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

function unauthorized(): MetricsResponse {
  const code = 'RAMPART_OBSERVABILITY_METRICS_UNAUTHORIZED';
  const { status, message } = OBSERVABILITY_ERRORS[code];
  return {
    status,
    contentType: 'application/problem+json',
    body: JSON.stringify({ type: 'about:blank', title: 'Unauthorized', status, detail: message, code }),
  };
}

/**
 * Answers a scrape: the registry's text, or 401 problem+json when a token is configured and the
 * `authorization` header does not carry it as a bearer token (compared in constant time).
 */
export function createMetricsResponder(
  registry: Registry,
  token: string | undefined,
): (authorization: string | undefined) => Promise<MetricsResponse> {
  if (token !== undefined && (typeof token !== 'string' || token.length < 16)) {
    throw invalidOptions('metricsToken must be a string of at least 16 characters');
  }
  const expected = token === undefined ? undefined : digest(`Bearer ${token}`);
  return async (authorization) => {
    if (expected !== undefined && !(authorization && timingSafeEqual(digest(authorization), expected))) {
      return unauthorized();
    }
    return { status: 200, contentType: registry.contentType, body: await registry.metrics() };
  };
}

/**
 * A bare node:http server answering only `path`, for scraping on a port the public one does not expose.
 * Resolves once listening; rejects with RAMPART_OBSERVABILITY_METRICS_LISTEN_FAILED.
 */
export async function listenMetricsServer(
  respond: (authorization: string | undefined) => Promise<MetricsResponse>,
  options: { path: string; host: string; port: number },
): Promise<{ server: Server; address: AddressInfo }> {
  const server = createServer((request, response) => {
    const path = request.url?.split('?', 1)[0];
    if (path !== options.path || (request.method !== 'GET' && request.method !== 'HEAD')) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    respond(request.headers.authorization).then(
      (result) => {
        response.writeHead(result.status, { 'content-type': result.contentType });
        response.end(request.method === 'HEAD' ? undefined : result.body);
      },
      () => response.writeHead(500, { 'content-type': 'text/plain' }).end('metrics collection failed\n'),
    );
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) =>
      reject(
        new ObservabilityError(
          'RAMPART_OBSERVABILITY_METRICS_LISTEN_FAILED',
          `${options.host}:${options.port}: ${error.message}`,
          { cause: error },
        ),
      ),
    );
    server.listen(options.port, options.host, () => resolve());
  });
  server.unref();
  return { server, address: server.address() as AddressInfo };
}

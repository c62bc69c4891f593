import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleService, startCommand } from '@rampart/bundle';
import type { HttpConfig } from './http-bench.ts';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const benchRoot = fileURLToPath(new URL('..', import.meta.url));

/**
 * servers/rampart.ts bundled as a generated service's build bundles its server (`rampart-bundle --preload
 * @rampart/observability/register`), into node_modules/.cache so it resolves the bench's packages; returns
 * the file to run with plain `node`, as the service's start command does.
 */
export async function bundleRampartServer(): Promise<string> {
  const outdir = join(benchRoot, 'node_modules/.cache/rampart-server');
  await bundleService({
    root: benchRoot,
    outdir,
    entries: ['src/servers/rampart.ts'],
    preload: ['@rampart/observability/register'],
  });
  return join(outdir, 'rampart.js');
}

/** apps/api's start command's Node flags (`node [flags] dist/server.js`). */
function serviceFlags(): string[] {
  const api = dirname(dirname(createRequire(import.meta.url).resolve('@rampart/api/app')));
  return startCommand(api).flags;
}

/** The standard OTEL_* variables both tracing setups read: OTLP/HTTP to the sink, batch export, a ratio. */
function otel(sinkUrl: string, ratio: number, service: string): Record<string, string> {
  return {
    OTEL_SERVICE_NAME: service,
    OTEL_TRACES_EXPORTER: 'otlp',
    OTEL_EXPORTER_OTLP_ENDPOINT: sinkUrl,
    OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
    OTEL_TRACES_SAMPLER_ARG: String(ratio),
    OTEL_BSP_SCHEDULE_DELAY: '1000',
    // The Node SDK would also export metrics and logs; the usual setup for traces turns those off.
    OTEL_METRICS_EXPORTER: 'none',
    OTEL_LOGS_EXPORTER: 'none',
  };
}

/** The HTTP servers of items 1 and 5, in the order they are loaded in a round. */
export function httpConfigs(
  sinkUrl: string,
  redisUrl: string | undefined,
  databaseUrl: string | undefined,
  rampartEntry: string,
): HttpConfig[] {
  const database: Record<string, string> = databaseUrl ? { BENCH_DATABASE_URL: databaseUrl } : {};
  const usual = (ratio: number): HttpConfig => ({
    id: `usual-${ratio * 100}`,
    name: `usual stack, tracing ${ratio * 100}%`,
    spec: {
      entry: here('./servers/usual.ts'),
      imports: [here('./servers/usual-tracing.ts')],
      env: otel(sinkUrl, ratio, 'usual'),
    },
    routes: ['GET', 'POST'],
  });
  const rampart = (ratio: number, redis?: string): HttpConfig => ({
    id: `rampart-${ratio * 100}${redis ? '-redis' : ''}`,
    name: `Rampart, tracing ${ratio * 100}%${redis ? ', Redis store' : ''}`,
    spec: {
      entry: rampartEntry,
      // The Node flags the service's own start command runs with.
      flags: serviceFlags(),
      env: { ...otel(sinkUrl, ratio, 'api'), ...database, ...(redis ? { BENCH_REDIS_URL: redis } : {}) },
    },
    routes: redis ? ['GET'] : ['GET', 'POST'],
  });
  return [
    { id: 'bare', name: 'bare Fastify', spec: { entry: here('./servers/bare.ts') }, routes: ['GET', 'POST'] },
    usual(0.1),
    usual(1),
    rampart(0.1),
    rampart(1),
    ...(redisUrl ? [rampart(0.1, redisUrl)] : []),
  ];
}

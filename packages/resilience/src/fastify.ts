import underPressure from '@fastify/under-pressure';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ERRORS, invalidOptions } from './errors.ts';
import type { Health } from './health.ts';

export { clientGone } from './client-gone.ts';

export interface LoadSheddingOptions {
  /** Mean event-loop delay (ms) over a sample above which requests are shed. 0 disables. */
  maxEventLoopDelayMs?: number;
  /** Event-loop utilisation (0..1) over a sample above which requests are shed. 0 disables. */
  maxEventLoopUtilization?: number;
  /** Heap used (bytes) above which requests are shed. 0 disables. */
  maxHeapUsedBytes?: number;
  /** Sent as Retry-After on a shed request. */
  retryAfterSeconds?: number;
  sampleIntervalMs?: number;
}

export interface ResiliencePluginOptions {
  health: Health;
  /** Where /live and /ready are served. */
  healthPrefix?: string;
  loadShedding?: LoadSheddingOptions | false;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** `false` keeps a route answering under pressure (health routes always do). */
    loadShedding?: boolean;
  }
}

export const LOAD_SHEDDING_DEFAULTS = {
  maxEventLoopDelayMs: 1_000,
  maxEventLoopUtilization: 0.98,
  maxHeapUsedBytes: 0,
  retryAfterSeconds: 10,
  sampleIntervalMs: 1_000,
} as const;

// under-pressure calls next() when a route's own pressureHandler returns undefined: the route is exempt.
const exempt = (): undefined => undefined;

const plugin: FastifyPluginAsync<ResiliencePluginOptions> = async (fastify, options) => {
  const { health } = options;
  if (!health || typeof health.live !== 'function' || typeof health.ready !== 'function')
    throw invalidOptions('the resilience plugin needs a health from createHealth()');
  const prefix = (options.healthPrefix ?? '/health').replace(/\/$/, '');

  if (options.loadShedding !== false) {
    const settings = { ...LOAD_SHEDDING_DEFAULTS, ...options.loadShedding };
    for (const [key, value] of Object.entries(settings)) {
      if (!(Number.isFinite(value) && value >= 0))
        throw invalidOptions(`loadShedding.${key} must be >= 0, got ${value}`);
    }
    const { status, message } = ERRORS.RAMPART_RESILIENCE_OVERLOADED;
    fastify.addHook('onRoute', (route) => {
      if (route.config?.loadShedding === false)
        route.config = { ...route.config, pressureHandler: exempt } as never;
    });
    await fastify.register(underPressure, {
      maxEventLoopDelay: settings.maxEventLoopDelayMs,
      maxEventLoopUtilization: settings.maxEventLoopUtilization,
      eventLoopUtilizationMode: 'interval',
      maxHeapUsedBytes: settings.maxHeapUsedBytes,
      sampleInterval: settings.sampleIntervalMs,
      retryAfter: settings.retryAfterSeconds,
      // under-pressure sends what the handler returns (its types say void): returning the body is what stops
      // the request here, since a handler returning nothing lets it through.
      pressureHandler: ((request: FastifyRequest, reply: FastifyReply, type: string) => {
        request.log.warn({ pressure: type }, 'load shed');
        reply
          .code(status)
          .header('retry-after', String(settings.retryAfterSeconds))
          .header('connection', 'close')
          .type('application/problem+json');
        return {
          type: 'about:blank',
          title: 'Service Unavailable',
          status,
          code: 'RAMPART_RESILIENCE_OVERLOADED',
          detail: message,
        };
      }) as unknown as (request: FastifyRequest, reply: FastifyReply, type: string) => void,
    });
  }

  // Node keeps a connection alive after close() began if its response said keep-alive, and close() then waits
  // for the keep-alive timeout. Saying `Connection: close` once shutdown began lets each connection end with
  // its last in-flight response, so draining takes as long as the slowest request.
  fastify.addHook('onSend', async (_request, reply) => {
    if (health.isShuttingDown()) reply.header('connection', 'close');
  });

  // Probes are never shed and never rate-limited (@fastify/rate-limit reads `config.rateLimit`): a kubelet
  // probes every pod on its node from one address, so with a shared store a modest limit would answer
  // liveness 429 and get healthy pods restarted. Found by tooling/reliability.
  const probe = { loadShedding: false, rateLimit: false } as { loadShedding: false };
  fastify.get(`${prefix}/live`, { config: probe }, async (_request, reply) => {
    const report = health.live();
    return reply.code(report.statusCode).header('cache-control', 'no-store').send(report.body);
  });
  fastify.get(`${prefix}/ready`, { config: probe }, async (_request, reply) => {
    const report = await health.ready();
    return reply.code(report.statusCode).header('cache-control', 'no-store').send(report.body);
  });
};

/** Health routes and load shedding for a Fastify service. */
export const resiliencePlugin = fp(plugin, { fastify: '5.x', name: '@rampart/resilience' });

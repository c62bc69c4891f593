import underPressure from '@fastify/under-pressure';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ERRORS, invalidOptions } from './errors.ts';
import type { Health } from './health.ts';
import { duration, integer, isRecord, section, shown } from './validate.ts';

export { clientGone } from './client-gone.ts';

export interface LoadSheddingOptions {
  /**
   * Mean event-loop delay (ms) over a sample above which requests are shed. 0 disables. Requests that
   * arrive together are served one after another in one turn of the loop, so this delay is about how long a
   * request waits in the process before its turn: what clients feel.
   */
  maxEventLoopDelayMs?: number;
  /**
   * Event-loop utilisation (0..1) over a sample above which requests are shed. 0 (the default) disables.
   * Busy is not overloaded: a healthy server under a closed-loop client sits near 1.0 while its latency
   * is fine, so this sheds working capacity; opt in only where a busy instance should hand work elsewhere.
   */
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
  maxEventLoopUtilization: 0,
  maxHeapUsedBytes: 0,
  retryAfterSeconds: 10,
  sampleIntervalMs: 1_000,
} as const;

/** At most one "load shed" warning per this many ms; the next one counts what was shed in between. */
const SHED_LOG_INTERVAL_MS = 1_000;

/** Every load-shedding setting, checked, with `undefined` meaning the default. */
function loadSheddingSettings(options: LoadSheddingOptions): Required<LoadSheddingOptions> {
  const utilization = options.maxEventLoopUtilization ?? LOAD_SHEDDING_DEFAULTS.maxEventLoopUtilization;
  if (typeof utilization !== 'number' || !(utilization >= 0 && utilization <= 1))
    throw invalidOptions(
      `loadShedding.maxEventLoopUtilization must be 0 (off) or within (0, 1], got ${shown(utilization)}`,
    );
  return {
    maxEventLoopDelayMs: duration(
      options.maxEventLoopDelayMs,
      'loadShedding.maxEventLoopDelayMs',
      LOAD_SHEDDING_DEFAULTS.maxEventLoopDelayMs,
      true,
    ),
    maxEventLoopUtilization: utilization,
    maxHeapUsedBytes: integer(
      options.maxHeapUsedBytes,
      'loadShedding.maxHeapUsedBytes',
      LOAD_SHEDDING_DEFAULTS.maxHeapUsedBytes,
      0,
    ),
    // Retry-After is a whole number of seconds.
    retryAfterSeconds: integer(
      options.retryAfterSeconds,
      'loadShedding.retryAfterSeconds',
      LOAD_SHEDDING_DEFAULTS.retryAfterSeconds,
      1,
    ),
    sampleIntervalMs: duration(
      options.sampleIntervalMs,
      'loadShedding.sampleIntervalMs',
      LOAD_SHEDDING_DEFAULTS.sampleIntervalMs,
    ),
  };
}

const plugin: FastifyPluginAsync<ResiliencePluginOptions> = async (fastify, options) => {
  if (!isRecord(options)) throw invalidOptions('the resilience plugin needs options with a health');
  const { health } = options;
  if (
    !isRecord(health) ||
    typeof health.live !== 'function' ||
    typeof health.ready !== 'function' ||
    typeof health.isShuttingDown !== 'function'
  )
    throw invalidOptions('the resilience plugin needs a health from createHealth()');
  const healthPrefix = options.healthPrefix ?? '/health';
  // find-my-way would refuse it with a bare assertion; '' and '/' serve /live and /ready at the root.
  if (typeof healthPrefix !== 'string' || !/^(\/[^\s?#]*)?$/.test(healthPrefix))
    throw invalidOptions(`healthPrefix must be empty or start with "/", got ${shown(healthPrefix)}`);
  const prefix = healthPrefix.replace(/\/$/, '');

  const shedding = section<LoadSheddingOptions>(
    options.loadShedding,
    'loadShedding',
    '{ maxEventLoopDelayMs?, maxEventLoopUtilization?, ... }',
  );
  if (shedding !== false) {
    const settings = loadSheddingSettings(shedding ?? {});
    const { status, message } = ERRORS.RAMPART_RESILIENCE_OVERLOADED;
    // Built once: shedding is the moment the process can least afford per-request work.
    const body = JSON.stringify({
      type: 'about:blank',
      title: 'Service Unavailable',
      status,
      code: 'RAMPART_RESILIENCE_OVERLOADED',
      detail: message,
    });
    const retryAfter = String(settings.retryAfterSeconds);
    let lastLogAt = Number.NEGATIVE_INFINITY;
    let shedSinceLog = 0;
    await fastify.register(underPressure, {
      maxEventLoopDelay: settings.maxEventLoopDelayMs,
      maxEventLoopUtilization: settings.maxEventLoopUtilization,
      eventLoopUtilizationMode: 'interval',
      maxHeapUsedBytes: settings.maxHeapUsedBytes,
      sampleInterval: settings.sampleIntervalMs,
      retryAfter: settings.retryAfterSeconds,
      // under-pressure sends what the handler returns (its types say void): returning the body is what stops
      // the request here, since a handler returning nothing lets it through. The connection stays open:
      // closing it would make every shed client reconnect at once, more work for an overloaded process,
      // while Retry-After already tells it when to come back.
      pressureHandler: ((request: FastifyRequest, reply: FastifyReply, type: string) => {
        // Read here, only under pressure, rather than by an onRoute hook: that would miss the routes declared
        // before this plugin, which under-pressure's onRequest hook still covers.
        if (request.routeOptions.config?.loadShedding === false) return undefined;
        shedSinceLog += 1;
        const now = Date.now();
        if (now - lastLogAt >= SHED_LOG_INTERVAL_MS) {
          request.log.warn({ pressure: type, shed: shedSinceLog }, 'load shed');
          lastLogAt = now;
          shedSinceLog = 0;
        }
        reply.code(status).header('retry-after', retryAfter).type('application/problem+json');
        return body;
      }) as unknown as (request: FastifyRequest, reply: FastifyReply, type: string) => void,
    });
  }

  // Node keeps a connection alive after close() began if its response said keep-alive, and close() then waits
  // for the keep-alive timeout. Saying `Connection: close` once shutdown began lets each connection end with
  // its last in-flight response, so draining takes as long as the slowest request.
  // Synchronous: an async hook costs a promise and a microtask turn on every response.
  fastify.addHook('onSend', (_request, reply, payload, done) => {
    if (health.isShuttingDown()) reply.header('connection', 'close');
    done(null, payload);
  });

  // Probes are never shed and never rate-limited (@rampart/security's rate limit reads `config.rateLimit`): a
  // kubelet probes every pod on its node from one address, so with a shared store a modest limit would answer
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

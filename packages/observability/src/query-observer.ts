import { context, SpanKind, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { invalidOptions } from './errors.ts';
import type { Metrics } from './metrics.ts';

/** What @rampart/db reports after each statement (structural: this package does not import db). */
export interface QueryEvent {
  system: 'pglite' | 'postgresql';
  operation: string;
  /** Statement text with placeholders, never parameter values. */
  sql: string;
  durationMs: number;
  ok: boolean;
  slow: boolean;
  error?: Error;
}

export interface QueryObserver {
  onQuery(event: QueryEvent): void;
}

export interface QueryObserverOptions {
  metrics: Metrics;
  /** Slow queries are logged here at warn, failures at debug (error code only); omit to log nothing. */
  logger?: Logger;
  /** Default: the global tracer. A span is made only inside a recording (sampled) span. */
  tracer?: Tracer;
  /** Statements are cut to this many characters in logs and spans; default 2000. */
  maxSqlLength?: number;
}

export const QUERY_OBSERVER_DEFAULTS = { maxSqlLength: 2000 } as const;

// A closed set keeps the operation label bounded whatever SQL arrives.
const OPERATIONS = new Set(
  'select insert update delete with begin commit rollback savepoint release create alter drop truncate set show copy lock grant revoke do explain listen notify unlisten vacuum analyze start end'.split(
    ' ',
  ),
);

/** The pg SQLSTATE or error name: a driver's message can quote the values that failed. */
function errorType(error: Error | undefined): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : (error?.name ?? 'Error');
}

/**
 * Implements @rampart/db's query observer: a duration histogram and counter by system, operation and
 * outcome, a slow-query counter and warn line, and a client span under the active sampled span.
 *
 * @example
 * const db = await createDb({ ..., observer: createQueryObserver({ metrics, logger }) });
 */
export function createQueryObserver(options: QueryObserverOptions): QueryObserver {
  if (!options?.metrics?.db) throw invalidOptions('query observer: metrics (from createMetrics) is required');
  const maxSqlLength = options.maxSqlLength ?? QUERY_OBSERVER_DEFAULTS.maxSqlLength;
  if (!Number.isInteger(maxSqlLength) || maxSqlLength < 1)
    throw invalidOptions('query observer: maxSqlLength must be a positive integer');
  const { queries, duration, slow } = options.metrics.db;
  const logger = options.logger;
  const tracer = options.tracer ?? trace.getTracer('@rampart/observability');
  const labelCache = new Map<string, { system: string; operation: string; outcome: string }>();

  return {
    onQuery(event) {
      const system = event.system === 'pglite' || event.system === 'postgresql' ? event.system : 'other';
      const operation = OPERATIONS.has(event.operation) ? event.operation : 'other';
      const outcome = event.ok ? 'ok' : 'error';
      const key = `${system} ${operation} ${outcome}`;
      let labels = labelCache.get(key);
      if (labels === undefined) {
        labels = { system, operation, outcome };
        labelCache.set(key, labels);
      }
      const seconds =
        Number.isFinite(event.durationMs) && event.durationMs >= 0 ? event.durationMs / 1000 : 0;
      queries.inc(labels);
      duration.observe(labels, seconds);

      const statement = event.sql.length > maxSqlLength ? `${event.sql.slice(0, maxSqlLength)}…` : event.sql;
      if (event.slow) {
        slow.inc({ system, operation });
        logger?.warn({ db: { system, operation, duration_ms: event.durationMs, statement } }, 'slow query');
      }
      if (!event.ok)
        logger?.debug({ db: { system, operation, error_type: errorType(event.error) } }, 'query failed');

      if (trace.getSpan(context.active())?.isRecording() !== true) return;
      const span = tracer.startSpan(`${operation} ${system}`, {
        kind: SpanKind.CLIENT,
        startTime: Date.now() - seconds * 1000,
        attributes: {
          'db.system.name': 'postgresql',
          'db.operation.name': operation,
          'db.query.text': statement,
          'rampart.db.driver': system,
        },
      });
      if (!event.ok) {
        span.setAttribute('error.type', errorType(event.error));
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      span.end();
    },
  };
}

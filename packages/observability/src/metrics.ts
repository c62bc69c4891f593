import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { invalidOptions } from './errors.ts';
import { type RedMetrics, registerRedMetrics } from './red-metrics.ts';
import { currentSpanCounts, type SpanCounts } from './span-counts.ts';

export interface MetricsOptions {
  /** Written as the `service` label on every series. */
  service: string;
  /** Node process metrics (CPU, memory, event-loop lag, GC, handles); default true. */
  defaultMetrics?: boolean;
  /** Upper bounds in seconds of the HTTP duration histogram. */
  httpBuckets?: readonly number[];
  /** Upper bounds in seconds of the query duration histogram. */
  dbBuckets?: readonly number[];
  /** Upper bounds in seconds of the job duration histogram. */
  taskBuckets?: readonly number[];
  /** Upper bounds in seconds of the resilience policy call histogram. */
  policyBuckets?: readonly number[];
}

export const METRICS_DEFAULTS = {
  defaultMetrics: true,
  httpBuckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  dbBuckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
  taskBuckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900],
  policyBuckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
} as const;

/** The metric names this package writes; dashboards and alert rules are generated against these. */
export const METRIC_NAMES = {
  httpRequests: 'http_server_requests_total',
  httpDuration: 'http_server_request_duration_seconds',
  dbQueries: 'db_client_queries_total',
  dbDuration: 'db_client_query_duration_seconds',
  dbSlowQueries: 'db_client_slow_queries_total',
  taskJobs: 'tasks_jobs_total',
  taskDuration: 'tasks_job_duration_seconds',
  taskActive: 'tasks_jobs_active',
  policyEvents: 'resilience_policy_events_total',
  policyDuration: 'resilience_policy_call_duration_seconds',
  breakerState: 'resilience_breaker_state',
  tracingSpans: 'tracing_spans_total',
} as const;

const SPAN_OUTCOMES = ['exported', 'failed', 'dropped'] as const;

const LINT_FAILING_DEFAULTS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

type DbLabels = 'system' | 'operation' | 'outcome';

/** One prom-client registry per service with the RED, query and job series this package feeds. */
export interface Metrics {
  /** The real prom-client registry: register your own metrics on it. */
  registry: Registry;
  /** `http_server_requests_total` and `http_server_request_duration_seconds`, fed by the Fastify plugin. */
  http: RedMetrics;
  db: {
    queries: Counter<DbLabels>;
    duration: Histogram<DbLabels>;
    slow: Counter<'system' | 'operation'>;
  };
  tasks: {
    jobs: Counter<'task' | 'kind'>;
    duration: Histogram<'task' | 'outcome'>;
    active: Gauge<'task'>;
  };
  resilience: {
    events: Counter<'policy' | 'kind'>;
    duration: Histogram<'policy' | 'outcome'>;
    /** 0 closed, 1 half-open, 2 open. */
    breaker: Gauge<'policy'>;
  };
  tracing: {
    /**
     * `tracing_spans_total{outcome}`: sampled spans exported, failed (lost with an export that failed) and
     * dropped (queue full), read from the running tracing at each scrape; no series while nothing exports.
     */
    spans: Counter<'outcome'>;
  };
}

function buckets(name: string, value: readonly number[] | undefined, fallback: readonly number[]): number[] {
  const list = value ?? fallback;
  const ok =
    Array.isArray(list) &&
    list.length > 0 &&
    list.every(
      (bound, index) => Number.isFinite(bound) && bound > 0 && (index === 0 || bound > list[index - 1]!),
    );
  if (!ok)
    throw invalidOptions(
      `metrics: ${name} must be a non-empty, strictly increasing list of positive seconds`,
    );
  return [...list];
}

/**
 * Creates the service's registry with process metrics and the HTTP, query and job series.
 *
 * @example
 * const metrics = createMetrics({ service: 'orders' });
 * const text = await metrics.registry.metrics();
 */
export function createMetrics(options: MetricsOptions): Metrics {
  if (typeof options?.service !== 'string' || options.service.length === 0) {
    throw invalidOptions('metrics: service must be a non-empty string');
  }
  const defaultMetrics = options.defaultMetrics ?? METRICS_DEFAULTS.defaultMetrics;
  if (typeof defaultMetrics !== 'boolean') throw invalidOptions('metrics: defaultMetrics must be a boolean');
  const httpBuckets = buckets('httpBuckets', options.httpBuckets, METRICS_DEFAULTS.httpBuckets);
  const dbBuckets = buckets('dbBuckets', options.dbBuckets, METRICS_DEFAULTS.dbBuckets);
  const taskBuckets = buckets('taskBuckets', options.taskBuckets, METRICS_DEFAULTS.taskBuckets);
  const policyBuckets = buckets('policyBuckets', options.policyBuckets, METRICS_DEFAULTS.policyBuckets);

  const registry = new Registry();
  registry.setDefaultLabels({ service: options.service });
  if (defaultMetrics) {
    collectDefaultMetrics({ register: registry });
    // These gauges end in _total, which Prometheus reserves for counters (promtool check metrics fails
    // on them); nodejs_active_resources{type} carries the same information.
    for (const name of LINT_FAILING_DEFAULTS) registry.removeSingleMetric(name);
  }
  const registers = [registry];
  // Tracing keeps running totals; the counter takes what they grew by since the last scrape. Totals that
  // went down belong to a tracing started again in this process: they are taken whole.
  let seen: SpanCounts | undefined;

  return {
    registry,
    http: registerRedMetrics(
      registry,
      { requests: METRIC_NAMES.httpRequests, duration: METRIC_NAMES.httpDuration },
      httpBuckets,
    ),
    db: {
      queries: new Counter({
        name: METRIC_NAMES.dbQueries,
        help: 'Database queries run, by system, operation and outcome.',
        labelNames: ['system', 'operation', 'outcome'],
        registers,
      }),
      duration: new Histogram({
        name: METRIC_NAMES.dbDuration,
        help: 'Database query duration in seconds, by system, operation and outcome.',
        labelNames: ['system', 'operation', 'outcome'],
        buckets: dbBuckets,
        registers,
      }),
      slow: new Counter({
        name: METRIC_NAMES.dbSlowQueries,
        help: 'Database queries at or above the slow-query threshold.',
        labelNames: ['system', 'operation'],
        registers,
      }),
    },
    tasks: {
      jobs: new Counter({
        name: METRIC_NAMES.taskJobs,
        help: 'Background job events, by task and kind (queued, active, completed, failed, retried, dead-lettered).',
        labelNames: ['task', 'kind'],
        registers,
      }),
      duration: new Histogram({
        name: METRIC_NAMES.taskDuration,
        help: 'Background job run time in seconds, by task and outcome.',
        labelNames: ['task', 'outcome'],
        buckets: taskBuckets,
        registers,
      }),
      active: new Gauge({
        name: METRIC_NAMES.taskActive,
        help: 'Background jobs running now in this process, by task.',
        labelNames: ['task'],
        registers,
      }),
    },
    resilience: {
      events: new Counter({
        name: METRIC_NAMES.policyEvents,
        help: 'Resilience policy events (call, success, failure, retry, timeout, breaker-*, bulkhead-rejected, fallback), by policy and kind.',
        labelNames: ['policy', 'kind'],
        registers,
      }),
      duration: new Histogram({
        name: METRIC_NAMES.policyDuration,
        help: 'Duration in seconds of calls through a resilience policy, by policy and outcome.',
        labelNames: ['policy', 'outcome'],
        buckets: policyBuckets,
        registers,
      }),
      breaker: new Gauge({
        name: METRIC_NAMES.breakerState,
        help: 'Circuit breaker state by policy: 0 closed, 1 half-open, 2 open.',
        labelNames: ['policy'],
        registers,
      }),
    },
    tracing: {
      spans: new Counter({
        name: METRIC_NAMES.tracingSpans,
        help: 'Sampled spans by outcome: exported, failed (an export failed or timed out) or dropped (the queue was full).',
        labelNames: ['outcome'],
        registers,
        collect() {
          const counts = currentSpanCounts();
          if (counts === undefined) return;
          const previous = seen !== undefined && !restarted(seen, counts) ? seen : undefined;
          for (const outcome of SPAN_OUTCOMES) {
            const grew = counts[outcome] - (previous?.[outcome] ?? 0);
            // inc(0) still creates the series, so all three are there from the first scrape.
            this.inc({ outcome }, grew);
          }
          seen = counts;
        },
      }),
    },
  };
}

function restarted(before: SpanCounts, now: SpanCounts): boolean {
  return SPAN_OUTCOMES.some((outcome) => now[outcome] < before[outcome]);
}

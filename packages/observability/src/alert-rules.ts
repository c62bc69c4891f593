import { invalidOptions } from './errors.ts';
import { METRIC_NAMES } from './metrics.ts';
import { UNMATCHED_ROUTE } from './route-series.ts';
import { checkDescription, promRegex, promString, type ServiceDescription } from './service-description.ts';

export interface AlertRulesOptions extends ServiceDescription {
  /** Availability SLO: the share of requests that must not answer 5xx; default 0.999. */
  availability?: number;
  /** Per-route 5xx ratio that alerts (over 5m, for 10m); default 0.05. */
  errorRatio?: number;
  /** p99 latency that alerts for routes without their own `latencyMs`; default 1000. */
  latencyMs?: number;
  /** Share of failed jobs per task that alerts (over 15m); default 0.1. */
  taskFailureRatio?: number;
  /** Event-loop p99 lag that alerts, a saturation signal; default 200. */
  eventLoopLagMs?: number;
}

export const ALERT_RULES_DEFAULTS = {
  availability: 0.999,
  errorRatio: 0.05,
  latencyMs: 1000,
  taskFailureRatio: 0.1,
  eventLoopLagMs: 200,
} as const;

export interface PrometheusRule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
export interface PrometheusRuleFile {
  groups: Array<{ name: string; interval?: string; rules: PrometheusRule[] }>;
}

/** Windows of the multi-window, multi-burn-rate alerts (Google SRE workbook, chapter 5). */
const BURN_ALERTS = [
  { name: 'ErrorBudgetBurnFast', long: '1h', short: '5m', burn: 14.4, for: '2m', severity: 'page' },
  { name: 'ErrorBudgetBurnMedium', long: '6h', short: '30m', burn: 6, for: '15m', severity: 'page' },
  { name: 'ErrorBudgetBurnSlow', long: '1d', short: '2h', burn: 3, for: '1h', severity: 'ticket' },
  { name: 'ErrorBudgetBurnChronic', long: '3d', short: '6h', burn: 1, for: '3h', severity: 'ticket' },
] as const;
const WINDOWS = ['5m', '30m', '1h', '2h', '6h', '1d', '3d'] as const;

function ratio(name: string, value: number | undefined, fallback: number): number {
  const result = value ?? fallback;
  if (!(typeof result === 'number' && result > 0 && result < 1)) {
    throw invalidOptions(`alert rules: ${name} must be a number between 0 and 1 (exclusive)`);
  }
  return result;
}
function positive(name: string, value: number | undefined, fallback: number): number {
  const result = value ?? fallback;
  if (!(typeof result === 'number' && Number.isFinite(result) && result > 0)) {
    throw invalidOptions(`alert rules: ${name} must be a positive number`);
  }
  return result;
}

/**
 * Prometheus recording and alerting rules for one service: multi-window burn-rate alerts for an
 * availability SLO, a per-route error ratio, p99 latency per route, event-loop saturation, an open
 * breaker, lost trace spans and, when the service has tasks, dead letters and failing jobs. Write it with `toYaml` and check it with
 * `promtool check rules`.
 *
 * @example
 * const yaml = toYaml(generateAlertRules({ service: 'orders', routes: [{ method: 'GET', route: '/orders/:id' }] }));
 */
export function generateAlertRules(options: AlertRulesOptions): PrometheusRuleFile {
  checkDescription(options, 'alert rules');
  const availability = ratio('availability', options.availability, ALERT_RULES_DEFAULTS.availability);
  const errorRatio = ratio('errorRatio', options.errorRatio, ALERT_RULES_DEFAULTS.errorRatio);
  const taskFailureRatio = ratio(
    'taskFailureRatio',
    options.taskFailureRatio,
    ALERT_RULES_DEFAULTS.taskFailureRatio,
  );
  const latencyMs = positive('latencyMs', options.latencyMs, ALERT_RULES_DEFAULTS.latencyMs);
  const eventLoopLagMs = positive(
    'eventLoopLagMs',
    options.eventLoopLagMs,
    ALERT_RULES_DEFAULTS.eventLoopLagMs,
  );

  const service = options.service;
  const sel = (extra = '') => `{service=${promString(service)}${extra}}`;
  const budget = Number((1 - availability).toPrecision(6));
  const record = (window: string) => `service:http_server_error_ratio:rate${window}`;
  const labels = { service };

  const recording: PrometheusRule[] = WINDOWS.map((window) => ({
    record: record(window),
    expr:
      `sum(rate(${METRIC_NAMES.httpRequests}${sel(', status_class="5xx"')}[${window}]))\n` +
      `/\nsum(rate(${METRIC_NAMES.httpRequests}${sel()}[${window}]))`,
    labels,
  }));

  const alerts: PrometheusRule[] = BURN_ALERTS.map((alert) => {
    const threshold = Number((alert.burn * budget).toPrecision(6));
    return {
      alert: alert.name,
      expr: `${record(alert.long)}${sel()} > ${threshold}\nand\n${record(alert.short)}${sel()} > ${threshold}`,
      for: alert.for,
      labels: { service, severity: alert.severity, slo: 'availability' },
      annotations: {
        summary: `${service} is burning its ${availability * 100}% availability error budget ${alert.burn}x too fast`,
        description: `5xx ratio over ${alert.long} is {{ $value | humanizePercentage }} (budget ${budget}); at this rate the 30-day budget lasts ${Math.round((30 / alert.burn) * 10) / 10} days.`,
      },
    };
  });

  alerts.push({
    alert: 'RouteErrorRatioHigh',
    expr:
      `(\n  sum by (method, route) (rate(${METRIC_NAMES.httpRequests}${sel(', status_class="5xx"')}[5m]))\n` +
      `  /\n  sum by (method, route) (rate(${METRIC_NAMES.httpRequests}${sel()}[5m]))\n) > ${errorRatio}`,
    for: '10m',
    labels: { service, severity: 'ticket' },
    annotations: {
      summary: `{{ $labels.method }} {{ $labels.route }} on ${service} answers 5xx too often`,
      description: `5xx ratio is {{ $value | humanizePercentage }} over 5m (threshold ${errorRatio * 100}%).`,
    },
  });

  const p99 = (filter: string) =>
    `histogram_quantile(0.99, sum by (le, method, route) (rate(${METRIC_NAMES.httpDuration}_bucket${sel(filter)}[5m])))`;
  const custom = options.routes.filter((route) => route.latencyMs !== undefined);
  for (const route of custom) {
    alerts.push({
      alert: 'RouteLatencyHigh',
      expr: `${p99(`, method=${promString(route.method)}, route=${promString(route.route)}`)} > ${(route.latencyMs as number) / 1000}`,
      for: '10m',
      labels: {
        service,
        severity: 'ticket',
        method: route.method,
        route: route.route,
        latency_threshold: `${route.latencyMs}ms`,
      },
      annotations: {
        summary: `p99 latency of ${route.method} ${route.route} on ${service} is above ${route.latencyMs}ms`,
        description: 'p99 over 5m is {{ $value | humanizeDuration }}.',
      },
    });
  }
  const excluded = [UNMATCHED_ROUTE, ...custom.map((route) => route.route)].map(promRegex).join('|');
  alerts.push({
    alert: 'RouteLatencyHigh',
    expr: `${p99(`, route!~"${excluded}"`)} > ${latencyMs / 1000}`,
    for: '10m',
    labels: { service, severity: 'ticket', latency_threshold: `${latencyMs}ms` },
    annotations: {
      summary: `p99 latency of {{ $labels.method }} {{ $labels.route }} on ${service} is above ${latencyMs}ms`,
      description: 'p99 over 5m is {{ $value | humanizeDuration }}.',
    },
  });

  alerts.push({
    alert: 'EventLoopSaturated',
    expr: `max(nodejs_eventloop_lag_p99_seconds${sel()}) > ${eventLoopLagMs / 1000}`,
    for: '10m',
    labels: { service, severity: 'ticket' },
    annotations: {
      summary: `${service}'s event loop lags: requests queue behind CPU work`,
      description: 'p99 event-loop delay is {{ $value | humanizeDuration }}.',
    },
  });

  alerts.push({
    alert: 'DependencyBreakerOpen',
    expr: `max by (policy) (${METRIC_NAMES.breakerState}${sel()}) == 2`,
    for: '5m',
    labels: { service, severity: 'ticket' },
    annotations: {
      summary: `${service}'s circuit breaker for {{ $labels.policy }} has stayed open`,
      description: 'Calls to {{ $labels.policy }} fail fast or fall back while the breaker is open.',
    },
  });

  alerts.push({
    alert: 'TracingSpansLost',
    expr: `sum by (outcome) (rate(${METRIC_NAMES.tracingSpans}${sel(', outcome=~"failed|dropped"')}[5m])) > 0`,
    for: '15m',
    labels: { service, severity: 'ticket' },
    annotations: {
      summary: `${service} is losing trace spans ({{ $labels.outcome }})`,
      description:
        '{{ $value | humanize }} spans/s lost over 5m: failed exports (the collector refuses, is unreachable or too slow; the service logs the reason) or dropped from a full queue (more spans than the collector takes).',
    },
  });

  if ((options.tasks ?? []).length > 0) {
    alerts.push(
      {
        alert: 'TaskJobsDeadLettered',
        expr: `sum by (task) (increase(${METRIC_NAMES.taskJobs}${sel(', kind="dead-lettered"')}[15m])) > 0`,
        labels: { service, severity: 'ticket' },
        annotations: {
          summary: `jobs of task {{ $labels.task }} on ${service} were dead-lettered`,
          description: '{{ $value }} jobs exhausted their retries in the last 15 minutes.',
        },
      },
      {
        alert: 'TaskFailureRatioHigh',
        expr:
          `(\n  sum by (task) (rate(${METRIC_NAMES.taskJobs}${sel(', kind="failed"')}[15m]))\n  /\n` +
          `  sum by (task) (rate(${METRIC_NAMES.taskJobs}${sel(', kind=~"completed|failed"')}[15m]))\n) > ${taskFailureRatio}`,
        for: '15m',
        labels: { service, severity: 'ticket' },
        annotations: {
          summary: `task {{ $labels.task }} on ${service} fails too often`,
          description: 'failure ratio is {{ $value | humanizePercentage }} over 15m.',
        },
      },
    );
  }

  return {
    groups: [
      { name: `${service}-slo-recording`, rules: recording },
      { name: `${service}-alerts`, rules: alerts },
    ],
  };
}

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateAlertRules, generateDashboard, METRIC_NAMES } from '@rampart/observability';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  checkMetricReferences,
  observabilitySeries,
  readAppSeries,
  type SeriesCatalog,
} from './metrics-check.ts';

// What @rampart/observability generates for a service with routes and tasks, as gen service writes it.
const description = {
  service: 'orders',
  routes: [
    { method: 'GET', route: '/orders/:id', latencyMs: 250 },
    { method: 'POST', route: '/orders' },
  ],
  tasks: ['send-email'],
};
const RULES = stringify(generateAlertRules({ ...description, availability: 0.999 }));
const DASHBOARD = JSON.stringify(generateDashboard(description), null, 2);

let series: SeriesCatalog;
let defaultLabels: string[];
beforeAll(async () => {
  ({ series, defaultLabels } = await observabilitySeries());
});

const problemsOf = (rules: string, dashboard = DASHBOARD, catalog = series) =>
  checkMetricReferences({
    series: catalog,
    ruleFiles: [{ file: 'orders.rules.yml', content: rules }],
    dashboards: [{ file: 'orders.json', content: dashboard }],
  });
const edit = (text: string, from: string | RegExp, to: string) => {
  const changed = text.replaceAll(from, to);
  expect(changed, `no ${from} to edit`).not.toBe(text);
  return changed;
};

describe('observabilitySeries', () => {
  it('lists what createMetrics registers, histograms expanded, with each one’s labels and `service`', () => {
    expect(defaultLabels).toEqual(['service']);
    for (const name of Object.values(METRIC_NAMES)) {
      expect(series.has(name) || series.has(`${name}_bucket`), name).toBe(true);
    }
    expect([...series.get('http_server_requests_total')!].sort()).toEqual([
      'method',
      'route',
      'service',
      'status_class',
    ]);
    expect(series.get('http_server_request_duration_seconds_bucket')).toContain('le');
    expect(series.get('http_server_request_duration_seconds_sum')).not.toContain('le');
    expect([...series.get('tasks_jobs_total')!].sort()).toEqual(['kind', 'service', 'task']);
    expect(series.get('nodejs_eventloop_lag_p99_seconds')).toEqual(new Set(['service']));
  });
});

describe('checkMetricReferences', () => {
  it('passes the rules and dashboard @rampart/observability generates', () => {
    expect(problemsOf(RULES)).toEqual([]);
  });

  it('fails on a metric the code does not export, in a rule and in a dashboard, naming the closest', () => {
    const problems = problemsOf(
      edit(RULES, 'http_server_requests_total', 'http_requests_total'),
      edit(DASHBOARD, 'http_server_request_duration_seconds_bucket', 'http_request_duration_seconds_bucket'),
    );
    expect(problems).toContainEqual({
      file: 'orders.rules.yml',
      rule: 'metrics',
      message: expect.stringMatching(
        /^rule "RouteErrorRatioHigh": http_requests_total is not exported by the service .*; did you mean http_server_requests_total\?$/,
      ),
    });
    expect(problems).toContainEqual({
      file: 'orders.json',
      rule: 'metrics',
      message: expect.stringMatching(/^panel "[^"]+": http_request_duration_seconds_bucket is not exported/),
    });
    // One problem per panel, not one per target (p50, p95, p99 repeat the name).
    const messages = problems.map((problem) => `${problem.file} ${problem.message}`);
    expect(new Set(messages).size).toBe(messages.length);
  });

  it('fails on a label the metric does not carry: in a matcher, a by clause and an alert template', () => {
    const messages = problemsOf(
      edit(
        edit(edit(RULES, 'status_class="5xx"', 'status="5xx"'), 'by (policy)', 'by (polcy)'),
        '$labels.method',
        '$labels.verb',
      ),
    ).map((problem) => problem.message);
    expect(messages).toContainEqual(
      expect.stringMatching(
        /^rule "service:http_server_error_ratio:rate5m": http_server_requests_total has no label "status" \(its labels: method, route, service, status_class\)$/,
      ),
    );
    expect(messages).toContain(
      'rule "DependencyBreakerOpen": by (polcy) names "polcy", a label none of resilience_breaker_state has',
    );
    expect(messages).toContain(
      'rule "RouteErrorRatioHigh": {{ $labels.verb }}: no series of the expression has that label',
    );
  });

  it('fails on a task label renamed in the dashboard, and accepts the target labels job and instance', () => {
    const renamed = edit(
      DASHBOARD,
      'sum by (kind) (rate(tasks_jobs_total',
      'sum by (kinds) (rate(tasks_jobs_total',
    );
    expect(problemsOf(RULES, renamed).map((problem) => problem.message)).toContainEqual(
      expect.stringMatching(/by \(kinds\) names "kinds", a label none of tasks_jobs_total has$/),
    );
    const byTarget = edit(
      DASHBOARD,
      'sum by (kind) (rate(tasks_jobs_total',
      'sum by (job, instance, kind) (rate(tasks_jobs_total',
    );
    expect(problemsOf(RULES, byTarget)).toEqual([]);
  });

  it('knows the rule files’ recording rules everywhere, and nothing else named like them', () => {
    expect(RULES).toContain('record: service:http_server_error_ratio:rate5m');
    const dashboard = JSON.parse(DASHBOARD);
    dashboard.panels[0].targets = [{ expr: 'service:http_server_error_ratio:rate5m{service="orders"}' }];
    expect(problemsOf(RULES, JSON.stringify(dashboard))).toEqual([]);
    dashboard.panels[0].targets = [{ expr: 'service:http_server_error_ratio:rate7m{service="orders"}' }];
    expect(problemsOf(RULES, JSON.stringify(dashboard)).map((problem) => problem.message)).toContainEqual(
      expect.stringContaining('service:http_server_error_ratio:rate7m is not exported'),
    );
  });

  it('counts series the service registers itself (new Counter in its src/)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rampart-app-series-'));
    try {
      mkdirSync(join(dir, 'orders'));
      writeFileSync(
        join(dir, 'orders/metrics.ts'),
        `export const placed = new Counter<'channel'>({\n  name: 'orders_placed_total',\n  help: 'Orders placed.',\n  labelNames: ['channel'],\n  registers: [metrics.registry],\n});\n`,
      );
      writeFileSync(join(dir, 'orders/metrics.test.ts'), `new Gauge({ name: 'test_only', help: 'x' });\n`);
      const own = readAppSeries(dir, defaultLabels);
      expect([...own.keys()]).toEqual(['orders_placed_total']);
      const rule = `groups:\n  - name: own\n    rules:\n      - alert: NoOrders\n        expr: sum by (channel) (rate(orders_placed_total{service="orders"}[1h])) == 0\n`;
      expect(problemsOf(rule, DASHBOARD, new Map([...series, ...own]))).toEqual([]);
      expect(problemsOf(rule).map((problem) => problem.message)).toContainEqual(
        expect.stringContaining('orders_placed_total is not exported'),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

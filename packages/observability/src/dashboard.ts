import { METRIC_NAMES } from './metrics.ts';
import { checkDescription, promString, type ServiceDescription } from './service-description.ts';

export interface DashboardPanel {
  id: number;
  type: 'timeseries' | 'row';
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: 'prometheus'; uid: string };
  targets?: Array<{ refId: string; expr: string; legendFormat: string }>;
  fieldConfig?: { defaults: { unit: string }; overrides: [] };
  collapsed?: boolean;
  panels?: [];
}

export interface GrafanaDashboard {
  uid: string;
  title: string;
  tags: string[];
  timezone: 'utc';
  schemaVersion: number;
  refresh: string;
  time: { from: string; to: string };
  templating: { list: Array<Record<string, unknown>> };
  panels: DashboardPanel[];
}

// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a JS template.
const DATASOURCE = { type: 'prometheus', uid: '${datasource}' } as const;

/**
 * A Grafana dashboard for one service: RED per route (rate by status class, 5xx ratio, p50/p95/p99),
 * saturation (CPU, event-loop lag, heap, handles), database queries and, per task, the job queue.
 * Every query reads the series this package writes, filtered by the `service` label.
 *
 * @example
 * writeFileSync('dashboard.json', JSON.stringify(generateDashboard({ service: 'orders', routes, tasks }), null, 2));
 */
export function generateDashboard(description: ServiceDescription): GrafanaDashboard {
  checkDescription(description, 'dashboard');
  const sel = (extra = '') => `{service=${promString(description.service)}${extra}}`;
  const panels: DashboardPanel[] = [];
  let y = 0;
  let x = 0;
  const row = (title: string) => {
    if (x !== 0) y += 8;
    x = 0;
    panels.push({
      id: panels.length + 1,
      type: 'row',
      title,
      gridPos: { x: 0, y, w: 24, h: 1 },
      collapsed: false,
      panels: [],
    });
    y += 1;
  };
  const panel = (title: string, unit: string, targets: Array<[expr: string, legend: string]>) => {
    if (x >= 24) {
      x = 0;
      y += 8;
    }
    panels.push({
      id: panels.length + 1,
      type: 'timeseries',
      title,
      gridPos: { x, y, w: 8, h: 8 },
      datasource: DATASOURCE,
      targets: targets.map(([expr, legendFormat], index) => ({
        refId: String.fromCharCode(65 + index),
        expr,
        legendFormat,
      })),
      fieldConfig: { defaults: { unit }, overrides: [] },
    });
    x += 8;
  };
  const quantiles = (metric: string, filter: string, by: string): Array<[string, string]> =>
    [0.5, 0.95, 0.99].map((q) => [
      `histogram_quantile(${q}, sum by (le${by ? `, ${by}` : ''}) (rate(${metric}_bucket${sel(filter)}[$__rate_interval])))`,
      `p${q * 100}${by ? ` {{${by}}}` : ''}`,
    ]);
  const requests = METRIC_NAMES.httpRequests;

  row('Service');
  panel('Requests by status class', 'reqps', [
    [`sum by (status_class) (rate(${requests}${sel()}[$__rate_interval]))`, '{{status_class}}'],
  ]);
  panel('5xx ratio', 'percentunit', [
    [
      `sum(rate(${requests}${sel(', status_class="5xx"')}[$__rate_interval])) / sum(rate(${requests}${sel()}[$__rate_interval]))`,
      '5xx',
    ],
  ]);
  panel('Latency', 's', quantiles(METRIC_NAMES.httpDuration, '', ''));

  for (const route of description.routes) {
    const filter = `, method=${promString(route.method)}, route=${promString(route.route)}`;
    row(`${route.method} ${route.route}`);
    panel('Rate by status class', 'reqps', [
      [`sum by (status_class) (rate(${requests}${sel(filter)}[$__rate_interval]))`, '{{status_class}}'],
    ]);
    panel('Errors (5xx ratio)', 'percentunit', [
      [
        `sum(rate(${requests}${sel(`${filter}, status_class="5xx"`)}[$__rate_interval])) / sum(rate(${requests}${sel(filter)}[$__rate_interval]))`,
        '5xx',
      ],
    ]);
    panel('Duration', 's', quantiles(METRIC_NAMES.httpDuration, filter, ''));
  }

  row('Saturation');
  panel('CPU', 'percentunit', [
    [`rate(process_cpu_seconds_total${sel()}[$__rate_interval])`, '{{instance}}'],
  ]);
  panel('Event-loop lag p99', 's', [[`nodejs_eventloop_lag_p99_seconds${sel()}`, '{{instance}}']]);
  panel('Heap used', 'bytes', [[`nodejs_heap_size_used_bytes${sel()}`, '{{instance}}']]);
  panel('Active resources', 'short', [
    [`sum by (instance) (nodejs_active_resources${sel()})`, '{{instance}}'],
  ]);
  panel('Resident memory', 'bytes', [[`process_resident_memory_bytes${sel()}`, '{{instance}}']]);
  panel('Unmatched requests', 'reqps', [
    [
      `sum by (status_class) (rate(${requests}${sel(', route="unmatched"')}[$__rate_interval]))`,
      '{{status_class}}',
    ],
  ]);

  row('Database');
  panel('Queries by operation', 'ops', [
    [
      `sum by (operation, outcome) (rate(${METRIC_NAMES.dbQueries}${sel()}[$__rate_interval]))`,
      '{{operation}} {{outcome}}',
    ],
  ]);
  panel('Query duration', 's', quantiles(METRIC_NAMES.dbDuration, '', 'operation'));
  panel('Slow queries', 'ops', [
    [`sum by (operation) (rate(${METRIC_NAMES.dbSlowQueries}${sel()}[$__rate_interval]))`, '{{operation}}'],
  ]);

  row('Dependencies (resilience policies)');
  panel('Policy events', 'ops', [
    [
      `sum by (policy, kind) (rate(${METRIC_NAMES.policyEvents}${sel(', kind!="call"')}[$__rate_interval]))`,
      '{{policy}} {{kind}}',
    ],
  ]);
  panel(
    'Call duration p95',
    's',
    quantiles(METRIC_NAMES.policyDuration, ', outcome="success"', 'policy').slice(1, 2),
  );
  panel('Breaker state (0 closed, 1 half-open, 2 open)', 'short', [
    [`max by (policy) (${METRIC_NAMES.breakerState}${sel()})`, '{{policy}}'],
  ]);

  row('Telemetry');
  panel('Trace spans by outcome (failed and dropped are lost)', 'ops', [
    [`sum by (outcome) (rate(${METRIC_NAMES.tracingSpans}${sel()}[$__rate_interval]))`, '{{outcome}}'],
  ]);

  for (const task of description.tasks ?? []) {
    const filter = `, task=${promString(task)}`;
    row(`Task ${task}`);
    panel('Jobs by kind', 'ops', [
      [`sum by (kind) (rate(${METRIC_NAMES.taskJobs}${sel(filter)}[$__rate_interval]))`, '{{kind}}'],
    ]);
    panel('Run time', 's', quantiles(METRIC_NAMES.taskDuration, `${filter}, outcome="completed"`, ''));
    panel('Running now', 'short', [[`sum(${METRIC_NAMES.taskActive}${sel(filter)})`, 'active']]);
  }

  return {
    uid: `rampart-${description.service}`.slice(0, 40),
    title: `${description.service} (Rampart)`,
    tags: ['rampart', description.service],
    timezone: 'utc',
    schemaVersion: 39,
    refresh: '30s',
    time: { from: 'now-6h', to: 'now' },
    templating: {
      list: [
        { name: 'datasource', label: 'Prometheus', type: 'datasource', query: 'prometheus', current: {} },
      ],
    },
    panels,
  };
}

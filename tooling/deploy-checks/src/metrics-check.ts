import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createMetrics } from '@rampart/observability';
import { parse } from 'yaml';
import type { Problem } from './problem.ts';
import { type PromqlReferences, scanPromql } from './promql.ts';

/** Series name → the label names its samples carry. */
export type SeriesCatalog = Map<string, ReadonlySet<string>>;

/** Labels Prometheus puts on every series it scrapes: the target's. */
const TARGET_LABELS = ['job', 'instance'];
/** Series Prometheus writes itself for every target. */
const PROMETHEUS_SERIES = [
  'up',
  'scrape_duration_seconds',
  'scrape_samples_scraped',
  'scrape_samples_post_metric_relabeling',
  'scrape_series_added',
];

function addSeries(catalog: Map<string, Set<string>>, name: string, type: string, labels: Set<string>) {
  labels.delete('le');
  labels.delete('quantile');
  if (type === 'histogram') {
    catalog.set(`${name}_bucket`, new Set([...labels, 'le']));
    catalog.set(`${name}_sum`, labels);
    catalog.set(`${name}_count`, labels);
  } else if (type === 'summary') {
    catalog.set(name, new Set([...labels, 'quantile']));
    catalog.set(`${name}_sum`, labels);
    catalog.set(`${name}_count`, labels);
  } else catalog.set(name, labels);
}

/**
 * Every series a service's `/metrics` can carry, from the code itself: the registry `createMetrics` of
 * @rampart/observability builds (process and Node metrics, HTTP, query, job, resilience and tracing
 * series), each with its label names and the registry's default labels (`service`, which every sample
 * carries); histograms as `_bucket` (with `le`), `_sum` and `_count`.
 */
export async function observabilitySeries(): Promise<{ series: SeriesCatalog; defaultLabels: string[] }> {
  const metrics = createMetrics({ service: 'deploy-checks' });
  // The HTTP series render only once a request was observed: observe one so their labels show.
  metrics.http.series('GET', '/', '2xx').observe(0.001);
  const registry = metrics.registry;
  // The registry's default labels are the ones every sample carries.
  let defaults: Set<string> | undefined;
  for (const metric of await registry.getMetricsAsJSON()) {
    for (const value of metric.values) {
      const keys = Object.keys(value.labels);
      defaults = new Set(defaults ? [...defaults].filter((key) => keys.includes(key)) : keys);
    }
  }
  const catalog = new Map<string, Set<string>>();
  // Every registered metric (prom-client's and the HTTP collectors) answers get() with its type and samples.
  type Registered = {
    labelNames?: string[];
    get(): Promise<{ name: string; type: string; values: { labels: Record<string, unknown> }[] }>;
  };
  for (const metric of registry.getMetricsAsArray() as unknown as Registered[]) {
    const data = await metric.get();
    const labels = new Set<string>([
      ...(metric.labelNames ?? []),
      ...data.values.flatMap((value) => Object.keys(value.labels)),
      ...(defaults ?? []),
    ]);
    addSeries(catalog, data.name, data.type, labels);
  }
  return { series: catalog, defaultLabels: [...(defaults ?? [])] };
}

const METRIC_CLASS = /\bnew\s+(Counter|Gauge|Histogram|Summary)\s*(?:<[^>]*>)?\s*\(\s*\{/g;

/**
 * Series a service registers itself (`new Counter({ name: '...', labelNames: [...] })` and the like in
 * its src/, read as text): name and label names must be literals to be found. `defaultLabels` are added
 * to each (the registry's, e.g. `service`).
 */
export function readAppSeries(srcDir: string, defaultLabels: Iterable<string>): SeriesCatalog {
  const catalog = new Map<string, Set<string>>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.[cm]?ts$/.test(entry.name) && !/\.(test|spec)\.[cm]?ts$/.test(entry.name)) {
        const source = readFileSync(path, 'utf8');
        for (const match of source.matchAll(METRIC_CLASS)) {
          const body = objectLiteral(source, match.index + match[0].length - 1);
          const name = /\bname:\s*['"`]([A-Za-z_:][A-Za-z0-9_:]*)['"`]/.exec(body)?.[1];
          if (!name) continue;
          const labelNames = /\blabelNames:\s*\[([^\]]*)\]/.exec(body)?.[1] ?? '';
          const labels = new Set([...labelNames.matchAll(/['"`]([^'"`]+)['"`]/g)].map((label) => label[1]!));
          for (const label of defaultLabels) labels.add(label);
          addSeries(catalog, name, match[1]!.toLowerCase(), labels);
        }
      }
    }
  };
  if (existsSync(srcDir)) walk(srcDir);
  return catalog;
}

/** The text of the object literal whose `{` is at `start` (braces counted; strings not special-cased). */
function objectLiteral(source: string, start: number): string {
  let depth = 0;
  for (let i = start; i < source.length; i++) {
    if (source[i] === '{') depth++;
    else if (source[i] === '}' && --depth === 0) return source.slice(start, i + 1);
  }
  return source.slice(start);
}

/** The closest known name, when one is close enough to be the intended one. */
function closest(name: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(3, Math.ceil(name.length * 0.4)) + 1;
  for (const candidate of known) {
    const distance = editDistance(name, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length]!;
}

export interface MetricReferenceOptions {
  /** The series the service exports (observabilitySeries, plus readAppSeries for its own). */
  series: SeriesCatalog;
  /** Its Prometheus rule files (their recording rules count as known series for everything). */
  ruleFiles: readonly { file: string; content: string }[];
  /** Its Grafana dashboards. */
  dashboards: readonly { file: string; content: string }[];
}

interface Rule {
  record?: unknown;
  alert?: unknown;
  expr?: unknown;
  labels?: Record<string, unknown>;
  annotations?: Record<string, unknown>;
}

/**
 * Checks that the alert rules and dashboards ask for series the service really exports: every metric
 * name in a selector is one of `series` (or a recording rule of the service's rule files, or a series
 * Prometheus makes: `up`, `scrape_*`), every label a matcher, `by`/`without`, `on`/`ignoring` or an
 * alert's `{{ $labels.x }}` names is one of that series' labels (or the target's `job`/`instance`). A
 * rule on a renamed metric or label never fires, it does not fail: this is what catches it.
 */
export function checkMetricReferences(options: MetricReferenceOptions): Problem[] {
  const problems: Problem[] = [];
  const known = new Map<string, ReadonlySet<string>>(options.series);
  for (const name of PROMETHEUS_SERIES) if (!known.has(name)) known.set(name, new Set());

  const rulesOf = options.ruleFiles.map(({ file, content }) => {
    let rules: Rule[] = [];
    try {
      const parsed = parse(content) as { groups?: { rules?: Rule[] }[] } | null;
      rules = (parsed?.groups ?? []).flatMap((group) => group.rules ?? []);
    } catch {
      // promtool reports the YAML error.
    }
    return { file, rules };
  });
  // Recording rules first, so alerts and dashboards may use them: each carries the labels of what it
  // reads (a `sum` without `by` drops them, which this does not model) and its own `labels:`.
  const recorded = new Map<string, Set<string>>();
  for (let pass = 0; pass < 2; pass++) {
    for (const { rules } of rulesOf) {
      for (const rule of rules) {
        if (typeof rule.record !== 'string' || typeof rule.expr !== 'string') continue;
        const labels = new Set(Object.keys(rule.labels ?? {}));
        try {
          const references = scanPromql(rule.expr);
          for (const selector of references.selectors) {
            const ofMetric = selector.metric === undefined ? undefined : known.get(selector.metric);
            for (const label of ofMetric ?? []) labels.add(label);
          }
          for (const label of references.createdLabels) labels.add(label);
        } catch {
          // reported below
        }
        recorded.set(rule.record, labels);
        known.set(rule.record, labels);
      }
    }
  }

  const check = (
    file: string,
    where: string,
    expression: string,
    templates: readonly string[] = [],
  ): void => {
    const fail = (message: string) =>
      problems.push({ file, rule: 'metrics', message: `${where}: ${message}` });
    let references: PromqlReferences;
    try {
      references = scanPromql(expression);
    } catch (error) {
      fail(`cannot read the expression (${(error as Error).message})`);
      return;
    }
    const available = (metrics: readonly string[]) => {
      const labels = new Set([...TARGET_LABELS, ...references.createdLabels, '__name__']);
      for (const metric of metrics) for (const label of known.get(metric) ?? []) labels.add(label);
      return labels;
    };
    const unknown = new Set<string>();
    for (const selector of references.selectors) {
      if (selector.metric === undefined) continue;
      const labels = known.get(selector.metric);
      if (!labels) {
        if (unknown.has(selector.metric)) continue;
        unknown.add(selector.metric);
        const hint = closest(selector.metric, known.keys());
        fail(
          `${selector.metric} is not exported by the service (createMetrics of @rampart/observability, or its own src/) nor recorded by its rules${hint ? `; did you mean ${hint}?` : ''}`,
        );
        continue;
      }
      const has = available([selector.metric]);
      for (const label of selector.labels) {
        if (!has.has(label)) {
          fail(`${selector.metric} has no label "${label}" (its labels: ${[...labels].sort().join(', ')})`);
        }
      }
    }
    for (const grouping of references.groupings) {
      const metrics = grouping.metrics.filter((metric) => known.has(metric));
      if (metrics.length === 0) continue; // nothing known to compare with (an unknown metric is reported)
      const has = available(metrics);
      for (const label of grouping.labels) {
        if (!has.has(label)) {
          fail(
            `${grouping.clause} (${grouping.labels.join(', ')}) names "${label}", a label none of ${[...new Set(metrics)].join(', ')} has`,
          );
        }
      }
    }
    const selected = references.selectors.flatMap((selector) =>
      selector.metric !== undefined && known.has(selector.metric) ? [selector.metric] : [],
    );
    if (selected.length === 0) return;
    const has = available(selected);
    for (const template of templates) {
      for (const match of template.matchAll(/\$labels\.([A-Za-z_][A-Za-z0-9_]*)/g)) {
        if (!has.has(match[1]!))
          fail(`{{ $labels.${match[1]} }}: no series of the expression has that label`);
      }
    }
  };

  for (const { file, rules } of rulesOf) {
    for (const rule of rules) {
      if (typeof rule.expr !== 'string') continue;
      const name = typeof rule.alert === 'string' ? rule.alert : String(rule.record ?? '?');
      const templates = [
        ...Object.values(rule.annotations ?? {}),
        ...Object.values(rule.labels ?? {}),
      ].filter((value): value is string => typeof value === 'string');
      check(file, `rule "${name}"`, rule.expr, typeof rule.alert === 'string' ? templates : []);
    }
  }
  for (const { file, content } of options.dashboards) {
    let dashboard: unknown;
    try {
      dashboard = JSON.parse(content);
    } catch {
      continue; // checkDashboard reports it
    }
    for (const { where, expression } of dashboardQueries(dashboard)) check(file, where, expression);
  }
  // A panel's several targets (p50, p95, p99) repeat one mistake: report it once.
  const seen = new Set<string>();
  return problems.filter((problem) => {
    const key = `${problem.file}\n${problem.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Every PromQL expression of a dashboard: panel targets (rows and nested panels too) and query variables. */
function dashboardQueries(dashboard: unknown): { where: string; expression: string }[] {
  const found: { where: string; expression: string }[] = [];
  const walk = (value: unknown, where: string) => {
    if (Array.isArray(value)) {
      for (const item of value) walk(item, where);
      return;
    }
    if (value === null || typeof value !== 'object') return;
    const object = value as Record<string, unknown>;
    const here =
      typeof object.title === 'string' && object.type !== undefined ? `panel "${object.title}"` : where;
    if (typeof object.expr === 'string' && object.expr.trim() !== '')
      found.push({ where: here, expression: object.expr });
    for (const [key, child] of Object.entries(object)) if (key !== 'templating') walk(child, here);
  };
  walk(dashboard, 'dashboard');
  const variables = (dashboard as { templating?: { list?: unknown[] } }).templating?.list ?? [];
  for (const variable of variables) {
    const { name, type, query } = variable as { name?: string; type?: string; query?: unknown };
    if (type !== 'query') continue;
    const text = typeof query === 'string' ? query : (query as { query?: unknown } | null)?.query;
    if (typeof text !== 'string') continue;
    const where = `variable "${name ?? '?'}"`;
    // Grafana's label_values(<selector>, <label>) and query_result(<expression>); the label is checked
    // as a selector matcher would be.
    const labelValues = /^\s*label_values\(\s*(.+),\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$/s.exec(text);
    const queryResult = /^\s*query_result\(\s*(.+)\)\s*$/s.exec(text);
    if (labelValues) found.push({ where, expression: `group by (${labelValues[2]}) (${labelValues[1]})` });
    else if (queryResult) found.push({ where, expression: queryResult[1]! });
  }
  return found;
}

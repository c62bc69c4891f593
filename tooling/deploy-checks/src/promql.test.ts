import { describe, expect, it } from 'vitest';
import { scanPromql } from './promql.ts';

describe('scanPromql', () => {
  it('reads selectors, their matcher labels and a prefix by clause over its argument', () => {
    const references = scanPromql(
      'histogram_quantile(0.99, sum by (le, method, route) (rate(http_server_request_duration_seconds_bucket{service="api", route!~"unmatched"}[5m]))) > 1',
    );
    expect(references.selectors).toEqual([
      { metric: 'http_server_request_duration_seconds_bucket', labels: ['service', 'route'] },
    ]);
    expect(references.groupings).toEqual([
      {
        clause: 'by',
        labels: ['le', 'method', 'route'],
        metrics: ['http_server_request_duration_seconds_bucket'],
      },
    ]);
  });

  it('puts a postfix by clause on the aggregation it follows, and each on the metrics it groups', () => {
    const references = scanPromql(
      'sum(rate(a_total[5m])) by (x) / on (y) group_left (z) max without (w) (b)',
    );
    expect(references.selectors.map((selector) => selector.metric)).toEqual(['a_total', 'b']);
    expect(references.groupings).toEqual(
      expect.arrayContaining([
        { clause: 'by', labels: ['x'], metrics: ['a_total'] },
        { clause: 'without', labels: ['w'], metrics: ['b'] },
        { clause: 'on', labels: ['y'], metrics: ['a_total', 'b'] },
        { clause: 'group_left', labels: ['z'], metrics: ['a_total', 'b'] },
      ]),
    );
  });

  it('skips keywords, functions, numbers, durations and Grafana variables', () => {
    // A Grafana ${...} variable, as a literal (not a template).
    const variable = ['$', '{b}'].join('');
    const references = scanPromql(
      `rate(x{service="$service", a=~"${variable}"}[$__rate_interval] offset 5m) > bool 0.5 and on () vector(1) unless y @ end()`,
    );
    expect(references.selectors).toEqual([
      { metric: 'x', labels: ['service', 'a'] },
      { metric: 'y', labels: [] },
    ]);
  });

  it('reads __name__ matchers and the labels label_replace and count_values make', () => {
    const references = scanPromql(
      'count_values("version", label_replace({__name__="up", job="a"}, "host", "$1", "instance", "(.*):.*"))',
    );
    expect(references.selectors).toEqual([{ metric: 'up', labels: ['__name__', 'job'] }]);
    expect(references.createdLabels.sort()).toEqual(['host', 'version']);
  });

  it('throws on an unterminated string', () => {
    expect(() => scanPromql('x{a="b}')).toThrow(/unterminated string/);
  });
});

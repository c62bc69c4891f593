import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { promtool } from '../test/support.ts';
import { generateAlertRules } from './alert-rules.ts';
import { toYaml } from './yaml.ts';

const dir = mkdtempSync(join(tmpdir(), 'rampart-rules-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const rules = generateAlertRules({
  service: 'orders',
  routes: [
    { method: 'GET', route: '/orders/:id', latencyMs: 250 },
    { method: 'POST', route: '/orders', latencyMs: 250 },
    { method: 'GET', route: '/orders' },
  ],
  tasks: ['send-email'],
});

describe('generateAlertRules', () => {
  it('has recording rules for every burn window and the four burn-rate alerts', () => {
    const [recording, alerts] = rules.groups;
    expect(recording?.rules.map((rule) => rule.record)).toEqual(
      ['5m', '30m', '1h', '2h', '6h', '1d', '3d'].map((w) => `service:http_server_error_ratio:rate${w}`),
    );
    const names = alerts?.rules.map((rule) => rule.alert);
    expect(names).toEqual(
      expect.arrayContaining([
        'ErrorBudgetBurnFast',
        'ErrorBudgetBurnMedium',
        'ErrorBudgetBurnSlow',
        'ErrorBudgetBurnChronic',
        'RouteErrorRatioHigh',
        'RouteLatencyHigh',
        'EventLoopSaturated',
        'DependencyBreakerOpen',
        'TaskJobsDeadLettered',
        'TaskFailureRatioHigh',
      ]),
    );
    const fast = alerts?.rules.find((rule) => rule.alert === 'ErrorBudgetBurnFast');
    // 14.4 x the 0.1% budget, on both the 1h and the 5m window.
    expect(fast?.expr).toContain('service:http_server_error_ratio:rate1h{service="orders"} > 0.0144');
    expect(fast?.expr).toContain('service:http_server_error_ratio:rate5m{service="orders"} > 0.0144');
  });

  it('leaves task alerts out for a service without tasks, and rejects bad input with a code', () => {
    const plain = generateAlertRules({ service: 'api', routes: [] });
    expect(JSON.stringify(plain)).not.toContain('tasks_jobs_total');
    expect(() => generateAlertRules({ service: 'Bad Name', routes: [] })).toThrow(
      expect.objectContaining({ code: 'RAMPART_OBSERVABILITY_OPTIONS_INVALID' }),
    );
    expect(() => generateAlertRules({ service: 'api', routes: [], availability: 1 })).toThrow(
      expect.objectContaining({ code: 'RAMPART_OBSERVABILITY_OPTIONS_INVALID' }),
    );
    expect(() => generateAlertRules({ service: 'api', routes: [{ method: 'GET', route: '/a"b' }] })).toThrow(
      expect.objectContaining({ code: 'RAMPART_OBSERVABILITY_OPTIONS_INVALID' }),
    );
  });

  it('passes promtool check rules', () => {
    const bin = promtool();
    if (bin === null) return;
    const file = join(dir, 'rules.yml');
    writeFileSync(file, toYaml(rules as never));
    const result = spawnSync(bin, ['check', 'rules', file], { encoding: 'utf8' });
    expect(result.stdout + result.stderr).toContain('SUCCESS: 20 rules found');
    expect(result.status).toBe(0);
  });

  it('fires the fast burn alert in promtool unit tests when 10% of requests fail, and not at 0.5%', () => {
    const bin = promtool();
    if (bin === null) return;
    writeFileSync(join(dir, 'rules.yml'), toYaml(rules as never));
    const series = (status: string, perMinute: number) => ({
      series: `http_server_requests_total{service="orders",method="GET",route="/orders/:id",status_class="${status}"}`,
      values: `0+${perMinute}x120`,
    });
    const test = {
      rule_files: ['rules.yml'],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: [series('2xx', 90), series('5xx', 10)],
          alert_rule_test: [
            {
              eval_time: '70m',
              alertname: 'ErrorBudgetBurnFast',
              exp_alerts: [
                {
                  exp_labels: { service: 'orders', severity: 'page', slo: 'availability' },
                  exp_annotations: {
                    summary: 'orders is burning its 99.9% availability error budget 14.4x too fast',
                    description:
                      '5xx ratio over 1h is 10% (budget 0.001); at this rate the 30-day budget lasts 2.1 days.',
                  },
                },
              ],
            },
          ],
        },
        {
          interval: '1m',
          input_series: [series('2xx', 995), series('5xx', 5)],
          alert_rule_test: [{ eval_time: '70m', alertname: 'ErrorBudgetBurnFast', exp_alerts: [] }],
        },
      ],
    };
    const file = join(dir, 'rules.test.yml');
    writeFileSync(file, toYaml(test as never));
    const result = spawnSync(bin, ['test', 'rules', file], { encoding: 'utf8', cwd: dir });
    expect(result.stdout + result.stderr).toContain('SUCCESS');
    expect(result.status).toBe(0);
  });

  it('alerts on trace spans lost for 15 minutes, by outcome, and not while every export succeeds', () => {
    const bin = promtool();
    if (bin === null) return;
    writeFileSync(join(dir, 'rules.yml'), toYaml(rules as never));
    const spans = (outcome: string, values: string) => ({
      series: `tracing_spans_total{service="orders",outcome="${outcome}"}`,
      values,
    });
    const expected = (outcome: string) => ({
      exp_labels: { service: 'orders', severity: 'ticket', outcome },
      exp_annotations: {
        summary: `orders is losing trace spans (${outcome})`,
        description:
          '1 spans/s lost over 5m: failed exports (the collector refuses, is unreachable or too slow; the service logs the reason) or dropped from a full queue (more spans than the collector takes).',
      },
    });
    const test = {
      rule_files: ['rules.yml'],
      evaluation_interval: '1m',
      tests: [
        {
          // A collector that refuses everything from minute 0: 60 spans a minute fail.
          interval: '1m',
          input_series: [spans('exported', '0+0x40'), spans('failed', '0+60x40'), spans('dropped', '0+0x40')],
          alert_rule_test: [
            { eval_time: '10m', alertname: 'TracingSpansLost', exp_alerts: [] },
            { eval_time: '25m', alertname: 'TracingSpansLost', exp_alerts: [expected('failed')] },
          ],
        },
        {
          interval: '1m',
          input_series: [
            spans('exported', '0+600x40'),
            spans('failed', '0+0x40'),
            spans('dropped', '0+0x40'),
          ],
          alert_rule_test: [{ eval_time: '30m', alertname: 'TracingSpansLost', exp_alerts: [] }],
        },
      ],
    };
    const file = join(dir, 'spans.test.yml');
    writeFileSync(file, toYaml(test as never));
    const result = spawnSync(bin, ['test', 'rules', file], { encoding: 'utf8', cwd: dir });
    expect(result.stdout + result.stderr).toContain('SUCCESS');
    expect(result.status).toBe(0);
  });
});

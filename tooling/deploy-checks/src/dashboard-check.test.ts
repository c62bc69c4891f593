import { generateDashboard } from '@rampart/observability';
import { describe, expect, it } from 'vitest';
import { checkDashboard } from './dashboard-check.ts';

// The Prometheus data source variable the generated dashboard declares (a literal, not a template).
const VARIABLE = ['$', '{datasource}'].join('');

const description = {
  service: 'orders',
  routes: [{ method: 'GET', route: '/orders/:id', latencyMs: 250 }],
  tasks: ['send-email'],
};
// What @rampart/observability generates for a service, as a service writes it to deploy/grafana/.
const generated = JSON.stringify(generateDashboard(description), null, 2);

describe('checkDashboard', () => {
  it('passes the dashboard @rampart/observability generates, against the provisioned data sources', () => {
    expect(checkDashboard(generated, 'orders.json', ['prometheus', 'tempo'])).toEqual([]);
  });

  it('fails on a data source Grafana does not provision', () => {
    const edited = generated.replaceAll(VARIABLE, 'loki');
    const problems = checkDashboard(edited, 'orders.json', ['prometheus', 'tempo']);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems[0]).toEqual({
      file: 'orders.json',
      rule: 'dashboard',
      message: expect.stringMatching(
        /data source "loki" is neither a dashboard variable nor a provisioned data source$/,
      ),
    });
  });

  it('fails on a variable the dashboard does not declare, a missing uid and broken JSON', () => {
    const dashboard = JSON.parse(generated);
    dashboard.templating.list = [];
    delete dashboard.uid;
    const messages = checkDashboard(JSON.stringify(dashboard), 'x.json', ['prometheus']).map(
      (problem) => problem.message,
    );
    expect(messages).toContain('no uid (provisioning needs a stable one)');
    expect(messages).toContainEqual(expect.stringContaining(`data source "${VARIABLE}" is neither`));
    expect(checkDashboard('{', 'x.json', [])[0]?.message).toMatch(/^not JSON: /);
  });
});

import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateAlertRules, generateDashboard, toYaml } from '@rampart/observability';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { formatChanges } from '../src/format.ts';
import { createScratch, type Scratch } from './scratch.ts';

const DASHBOARD = 'apps/api/deploy/grafana/api.json';
const RULES = 'apps/api/deploy/prometheus/api.rules.yml';
const TASK_ALERTS = ['TaskJobsDeadLettered', 'TaskFailureRatioHigh'];

const crud = (name: string) => [
  { method: 'GET', route: `/${name}` },
  { method: 'GET', route: `/${name}/:id` },
  { method: 'POST', route: `/${name}` },
  { method: 'PATCH', route: `/${name}/:id` },
  { method: 'DELETE', route: `/${name}/:id` },
];

/** Both files as @rampart/observability renders `description` and the CLI formats them: the oracle. */
function expected(root: string, description: Parameters<typeof generateDashboard>[0]) {
  const [dashboard, rules] = formatChanges(root, [
    {
      path: DASHBOARD,
      content: `${JSON.stringify(generateDashboard(description), null, 2)}\n`,
      kind: 'create',
    },
    {
      path: RULES,
      content: toYaml(generateAlertRules(description) as unknown as Parameters<typeof toYaml>[0]),
      kind: 'create',
    },
  ]);
  return { dashboard: dashboard!.content, rules: rules!.content };
}

/** The titles of the dashboard's rows: `GET /items`, `Task audit.verify`... */
function rows(dashboard: string): string[] {
  return (JSON.parse(dashboard) as { panels: Array<{ type: string; title: string }> }).panels
    .filter((panel) => panel.type === 'row')
    .map((panel) => panel.title);
}

function alerts(rules: string): string[] {
  return [...rules.matchAll(/^\s*- alert: "?([\w]+)"?$/gm)].map((match) => match[1]!);
}

// gen task and gen resource render apps/<service>/deploy/grafana/<service>.json and
// deploy/prometheus/<service>.rules.yml again from rampart.json, in the same all-or-nothing plan.
describe("a service's dashboard and alert rules follow its tasks and resources", () => {
  let scratch: Scratch;
  const read = (path: string) => readFileSync(join(scratch.dir, path), 'utf8');
  beforeAll(() => {
    scratch = createScratch();
  });
  afterEach(() => {
    scratch.run('git', ['checkout', '--', '.']);
    scratch.run('git', ['clean', '-fdq', '--', 'apps']);
  });
  afterAll(() => scratch.remove());

  it('gen service gives the template task audit.verify its row and the task alerts', () => {
    const result = scratch.gen('service', 'shop', '--port', '3900');
    expect(result.code, result.stderr).toBe(0);
    const dashboard = read('apps/shop/deploy/grafana/shop.json');
    const rules = read('apps/shop/deploy/prometheus/shop.rules.yml');
    expect(rows(dashboard)).toContain('Task audit.verify');
    expect(rows(dashboard)).toContain('DELETE /items/:id');
    for (const alert of TASK_ALERTS) expect(alerts(rules)).toContain(alert);
  });

  it('gen task adds its row, gen resource its routes, each updating both files', { timeout: 120_000 }, () => {
    const task = scratch.gen('task', 'api', 'nightly-report', '--cron', '0 3 * * *');
    expect(task.code, task.stderr).toBe(0);
    expect(task.stdout).toContain(`update  ${DASHBOARD}`);
    expect(task.stdout).toContain(`update  ${RULES}`);
    const afterTask = { service: 'api', routes: crud('items'), tasks: ['audit.verify', 'nightly-report'] };
    expect(rows(read(DASHBOARD))).toEqual(
      expect.arrayContaining(['Task audit.verify', 'Task nightly-report']),
    );
    expect(read(DASHBOARD)).toBe(expected(scratch.dir, afterTask).dashboard);
    expect(read(RULES)).toBe(expected(scratch.dir, afterTask).rules);
    for (const alert of TASK_ALERTS) expect(alerts(read(RULES))).toContain(alert);

    const resource = scratch.gen('resource', 'api', 'invoices', '--fields', 'title:string');
    expect(resource.code, resource.stderr).toBe(0);
    expect(resource.stdout).toContain(`update  ${DASHBOARD}`);
    const afterResource = { ...afterTask, routes: [...crud('items'), ...crud('invoices')] };
    expect(rows(read(DASHBOARD))).toEqual(
      expect.arrayContaining([
        'GET /invoices',
        'GET /invoices/:id',
        'POST /invoices',
        'PATCH /invoices/:id',
        'DELETE /invoices/:id',
        'Task nightly-report',
      ]),
    );
    expect(read(DASHBOARD)).toBe(expected(scratch.dir, afterResource).dashboard);
    expect(read(RULES)).toBe(expected(scratch.dir, afterResource).rules);
  });

  it('brings a dashboard and rules gen service wrote before they had tasks up to date', () => {
    // What every `gen service` wrote before: the first resource's routes and no tasks, so no task alerts.
    const before = expected(scratch.dir, { service: 'api', routes: crud('items') });
    writeFileSync(join(scratch.dir, DASHBOARD), before.dashboard);
    writeFileSync(join(scratch.dir, RULES), before.rules);
    expect(alerts(before.rules)).not.toContain(TASK_ALERTS[0]);

    const task = scratch.gen('task', 'api', 'nightly-report');
    expect(task.code, task.stderr).toBe(0);
    const now = expected(scratch.dir, {
      service: 'api',
      routes: crud('items'),
      tasks: ['audit.verify', 'nightly-report'],
    });
    expect(read(DASHBOARD)).toBe(now.dashboard);
    expect(read(RULES)).toBe(now.rules);
    for (const alert of TASK_ALERTS) expect(alerts(read(RULES))).toContain(alert);
  });

  it('writes a deleted file anew', () => {
    rmSync(join(scratch.dir, RULES));
    const task = scratch.gen('task', 'api', 'nightly-report');
    expect(task.code, task.stderr).toBe(0);
    expect(task.stdout).toContain(`create  ${RULES}`);
    expect(task.stdout).toContain(`update  ${DASHBOARD}`);
    const now = { service: 'api', routes: crud('items'), tasks: ['audit.verify', 'nightly-report'] };
    expect(read(RULES)).toBe(expected(scratch.dir, now).rules);
  });

  it.each([
    [DASHBOARD, 'task api nightly-report'],
    [RULES, 'task api nightly-report'],
    [DASHBOARD, 'resource api invoices --fields title:string'],
  ])('refuses to overwrite a hand-edited %s (gen %s), writing nothing', (path, command) => {
    const args = command.split(' ');
    const edited = read(path).replace('30s', '1m').replace('for: "10m"', 'for: "20m"');
    expect(edited).not.toBe(read(path));
    writeFileSync(join(scratch.dir, path), edited);
    const before = scratch.status();

    const result = scratch.gen(...args);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `gen: ${path} is not what the generators rendered from apps/api/rampart.json (edited by hand since`,
    );
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(scratch.status()).toBe(before);
    expect(read(path)).toBe(edited);
  });
});

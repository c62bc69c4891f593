import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateAlertRules, generateDashboard } from '@rampart/observability';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { checkWorkspace } from '../src/check-workspace.ts';
import { renderKustomization } from '../src/kustomize.ts';
import { formatProblems } from '../src/problem.ts';
import { deployTools, type GeneratedWorkspace, generateService, workspaceRoot } from './support.ts';

// The Prometheus data source variable the generated dashboard declares (a literal, not a template).
const VARIABLE = ['$', '{datasource}'].join('');

// What @rampart/observability generates for the service, as the service writes them to deploy/.
const description = { service: 'orders', routes: [{ method: 'GET', route: '/items/:id', latencyMs: 250 }] };
// (yaml's stringify: observability's toYaml does not accept its own PrometheusRuleFile type.)
const GOOD_RULES = stringify(generateAlertRules({ ...description, availability: 0.999 }));
const DASHBOARD = JSON.stringify(generateDashboard(description), null, 2);

describe('what `gen service` writes', () => {
  const tools = deployTools();
  let generated: GeneratedWorkspace;
  let service: string;
  beforeAll(() => {
    generated = generateService('orders', 3400);
    service = join(generated.root, 'apps/orders');
    // The workspace's local stack, scraping the new service as docs/deploy.md says.
    cpSync(join(workspaceRoot, 'deploy'), join(generated.root, 'deploy'), { recursive: true });
    writeFileSync(
      join(generated.root, 'deploy/prometheus/targets/services.yml'),
      '- targets: ["host.docker.internal:3400"]\n  labels: { service: orders }\n',
    );
  });
  afterAll(() => generated?.remove());

  it('passes every deployment check', async () => {
    // docker-compose parses the same deploy/compose.yaml in the workspace test; skipping it here saves seconds.
    const report = await checkWorkspace(generated.root, { ...tools, dockerCompose: null });
    expect(formatProblems(report.problems)).toBe('');
    expect(report.checked).toEqual(
      expect.arrayContaining(['dockerfile apps/orders/Dockerfile', 'stack deploy/compose.yaml']),
    );
    if (tools.kubectl) {
      expect(report.checked).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^kustomize apps\/orders\/deploy\/k8s\/base \(10 objects\)$/),
          expect.stringMatching(/^kustomize apps\/orders\/deploy\/k8s\/overlays\/production \(10 objects\)$/),
        ]),
      );
    }
  });

  it('wires every variable of the generated src/env.ts: plain ones from the ConfigMap, secrets from the Secret', () => {
    const env = readFileSync(join(service, 'src/env.ts'), 'utf8');
    const config = readFileSync(join(service, 'deploy/k8s/base/config.env'), 'utf8');
    const api = readFileSync(join(service, 'deploy/k8s/base/deployment-api.yaml'), 'utf8');
    const keys = [...config.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((match) => match[1]);
    expect(keys).toContain('WORKER_HEALTH_PORT');
    for (const key of keys) expect(env).toContain(`  ${key}:`);
    for (const secret of ['DATABASE_URL', 'REDIS_URL', 'API_KEY_PEPPER']) {
      expect(keys).not.toContain(secret);
      expect(api).toContain(`key: ${secret}`);
    }
  });

  it.runIf(tools.promtool)(
    'runs promtool over generated rules and checks dashboards: good passes, broken fails',
    async () => {
      const rules = join(service, 'deploy/prometheus');
      const dashboards = join(service, 'deploy/grafana');
      mkdirSync(rules, { recursive: true });
      mkdirSync(dashboards, { recursive: true });
      const only = { ...tools, kubectl: null, dockerCompose: null };
      try {
        writeFileSync(join(rules, 'orders.rules.yml'), GOOD_RULES);
        writeFileSync(join(dashboards, 'orders.json'), DASHBOARD);
        const good = await checkWorkspace(generated.root, only);
        expect(formatProblems(good.problems)).toBe('');
        expect(good.checked).toContain('promtool check rules apps/orders/deploy/prometheus/orders.rules.yml');
        expect(good.checked).toContain('dashboard apps/orders/deploy/grafana/orders.json');

        writeFileSync(join(rules, 'orders.rules.yml'), GOOD_RULES.replace(/expr: /, 'expr: sum(('));
        writeFileSync(join(dashboards, 'orders.json'), DASHBOARD.replaceAll(VARIABLE, 'loki'));
        const bad = await checkWorkspace(generated.root, only);
        expect(bad.problems).toEqual(
          expect.arrayContaining([
            expect.objectContaining({
              file: 'apps/orders/deploy/prometheus/orders.rules.yml',
              rule: 'promtool',
            }),
            expect.objectContaining({ file: 'apps/orders/deploy/grafana/orders.json', rule: 'dashboard' }),
          ]),
        );
      } finally {
        rmSync(rules, { recursive: true, force: true });
        rmSync(dashboards, { recursive: true, force: true });
      }
    },
  );

  it.runIf(tools.dockerCompose)(
    'runs docker-compose config over the stack: a schema error fails',
    async () => {
      const compose = join(generated.root, 'deploy/compose.yaml');
      const before = readFileSync(compose, 'utf8');
      try {
        writeFileSync(compose, before.replace('      retries: 20\n', '      retries: twenty\n'));
        const report = await checkWorkspace(generated.root, { ...tools, kubectl: null, promtool: null });
        expect(report.problems).toEqual([
          expect.objectContaining({
            file: 'deploy/compose.yaml',
            rule: 'docker-compose',
            message: expect.stringContaining('retries'),
          }),
        ]);
      } finally {
        writeFileSync(compose, before);
      }
    },
  );

  it.runIf(tools.kubectl)(
    'fails with RAMPART_DEPLOY_RENDER_FAILED when a kustomization does not render',
    () => {
      const kustomization = join(service, 'deploy/k8s/base/kustomization.yaml');
      const before = readFileSync(kustomization, 'utf8');
      try {
        writeFileSync(kustomization, before.replace('  - hpa.yaml\n', '  - hpa.yaml\n  - missing.yaml\n'));
        expect(() => renderKustomization(join(service, 'deploy/k8s/base'), tools.kubectl!)).toThrow(
          expect.objectContaining({
            code: 'RAMPART_DEPLOY_RENDER_FAILED',
            message: expect.stringContaining('missing.yaml'),
          }),
        );
      } finally {
        writeFileSync(kustomization, before);
      }
    },
  );
});

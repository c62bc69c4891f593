import { cpSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
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
    // apps/api's dependencies are the template's: with them src/env.ts loads, so parseEnv checks the config.
    symlinkSync(join(workspaceRoot, 'apps/api/node_modules'), join(service, 'node_modules'));
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

  it('runs the generated parseEnv over the config and reads the build’s start files', async () => {
    const report = await checkWorkspace(generated.root, { ...tools, promtool: null, dockerCompose: null });
    expect(formatProblems(report.problems)).toBe('');
    if (tools.kubectl) {
      expect(report.checked).toContain(
        "runtime apps/orders (start files dist/server.js, dist/worker.js; values through apps/orders/src/env.ts's parseEnv)",
      );
    }
    expect(report.checked).toContainEqual(
      expect.stringMatching(
        /^metrics apps\/orders\/deploy\/prometheus\/orders\.rules\.yml apps\/orders\/deploy\/grafana\/orders\.json /,
      ),
    );
  });

  /** Applies the edits to the generated service, runs the checks, restores the files: the problem lines. */
  async function problemsAfter(edits: [string, string | RegExp, string][]): Promise<string[]> {
    const originals = new Map<string, string>();
    try {
      for (const [file, from, to] of edits) {
        const path = join(service, file);
        const current = readFileSync(path, 'utf8');
        if (!originals.has(path)) originals.set(path, current);
        const changed = current.replace(from, to);
        expect(changed, `${file}: no ${from} to edit`).not.toBe(current);
        writeFileSync(path, changed);
      }
      const report = await checkWorkspace(generated.root, { ...tools, promtool: null, dockerCompose: null });
      return formatProblems(report.problems).split('\n');
    } finally {
      for (const [path, content] of originals) writeFileSync(path, content);
    }
  }
  const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const inBase = (lines: string[], rule: string, text: string) =>
    expect(lines).toContainEqual(
      expect.stringMatching(
        new RegExp(`^apps/orders/deploy/k8s/base: \\[${rule}\\] .*${escapeRegExp(text)}`),
      ),
    );

  it.runIf(tools.kubectl)(
    'fails on config values the service or its register hook refuse, a wrong scrape path, rules and dashboards on renamed series',
    async () => {
      const lines = await problemsAfter([
        ['deploy/k8s/base/config.env', 'LOG_LEVEL=info', 'LOG_LEVEL=verbose'],
        ['deploy/k8s/base/config.env', 'RATE_LIMIT_WINDOW_MS=60000', 'RATE_LIMIT_WINDOW_MS=60s'],
        [
          'deploy/k8s/base/config.env',
          /OTEL_EXPORTER_OTLP_ENDPOINT=http:\/\//,
          'OTEL_EXPORTER_OTLP_ENDPOINT=',
        ],
        ['deploy/k8s/base/config.env', 'HOST=0.0.0.0', 'HOST=127.0.0.1'],
        [
          'deploy/k8s/base/deployment-api.yaml',
          'prometheus.io/path: /metrics',
          'prometheus.io/path: /metricz',
        ],
        ['deploy/prometheus/orders.rules.yml', /http_server_requests_total/g, 'http_requests_total'],
        ['deploy/grafana/orders.json', /status_class/g, 'status'],
      ]);
      inBase(
        lines,
        'env-values',
        `src/env.ts's parseEnv refuses LOG_LEVEL="verbose": must be one of fatal, error`,
      );
      inBase(
        lines,
        'env-values',
        `src/env.ts's parseEnv refuses RATE_LIMIT_WINDOW_MS="60s": must be a whole number`,
      );
      inBase(
        lines,
        'env-values',
        '@rampart/observability/register exits 1 at start: invalid OTEL_* environment variable: OTEL_EXPORTER_OTLP_ENDPOINT="otel-collector',
      );
      inBase(lines, 'env-values', 'HOST=127.0.0.1 listens on loopback inside the pod');
      inBase(
        lines,
        'prometheus',
        'Deployment/orders-api: prometheus.io/path is /metricz, but dist/server.js serves its metrics on /metrics',
      );
      expect(lines).toContainEqual(
        expect.stringMatching(
          /^apps\/orders\/deploy\/prometheus\/orders\.rules\.yml: \[metrics\] rule ".*": http_requests_total is not exported/,
        ),
      );
      expect(lines).toContainEqual(
        expect.stringMatching(
          /^apps\/orders\/deploy\/grafana\/orders\.json: \[metrics\] panel ".*": http_server_requests_total has no label "status"/,
        ),
      );
    },
  );

  it.runIf(tools.kubectl)(
    'fails on commands that start a file the build does not write, or the wrong one',
    async () => {
      const lines = await problemsAfter([
        ['deploy/k8s/base/deployment-api.yaml', /"dist\/server\.js"\]/, '"dist/main.js"]'],
        ['deploy/k8s/base/deployment-worker.yaml', /"dist\/worker\.js"\]/, '"dist/server.js"]'],
        ['Dockerfile', /"dist\/server\.js"\]/, '"dist/main.js"]'],
      ]);
      inBase(
        lines,
        'entry',
        'Deployment/orders-api container api: runs dist/main.js, which the build does not write',
      );
      inBase(
        lines,
        'entry',
        'Deployment/orders-worker container worker: the worker Deployment runs dist/server.js; it must run dist/worker.js',
      );
      expect(lines).toContain(
        'apps/orders/Dockerfile: [entry] CMD runs dist/main.js, which the build does not write as a start file (its start files: dist/server.js, dist/worker.js)',
      );
    },
  );

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

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { formatReport, runDoctor } from './doctor.ts';

// A service shaped like a generated one; each test removes or breaks one piece in a scratch copy.
const COMPLETE: Record<string, string> = {
  'package.json': JSON.stringify({
    name: '@x/orders',
    devDependencies: { '@rampart/testing': 'workspace:^' },
  }),
  'src/app.ts': `
import { observability } from '@rampart/observability/fastify';
import { resiliencePlugin } from '@rampart/resilience/fastify';
import { apiKeyAuthPlugin, rateLimitPlugin, securityHeadersPlugin as headers } from '@rampart/security/fastify';
import { orderRoutes } from './orders/routes.ts';
export async function buildApp() {
  await app.register(observability, { metrics });
  await app.register(headers);
  await app.register(rateLimitPlugin, { max: 100, timeWindowMs: 60_000 });
  await app.register(resiliencePlugin, { health });
  await app.register(apiKeyAuthPlugin, { verifier });
  await app.register(orderRoutes, { prefix: '/orders' });
  app.get('/status', { config: { auth: 'public' } }, async () => ({ ok: true }));
}
`,
  'src/orders/routes.ts': `
const read = { auth: { scopes: ['orders:read'] } } as const;
export const orderRoutes = async (app) => {
  app.get('/', { config: read }, async () => []);
  app.post('/', { config: { auth: { scopes: ['orders:write'] } }, schema: {} }, async () => ({}));
  app.route({ method: 'DELETE', url: '/:id', config: { auth: { scopes: ['orders:write'] } }, handler: async () => null });
};
`,
  'src/server.ts': `
import { createShutdown } from '@rampart/resilience';
const shutdown = createShutdown({ steps: [{ name: 'http', run: () => app.close() }] });
shutdown.listen();
`,
  'test/hardening.test.ts': `
import { describeHardening } from '@rampart/testing';
describeHardening(async (io) => ({ app: await buildApp(io), apiKey: 'k' }));
`,
  'deploy/grafana/orders.json': JSON.stringify({ title: 'orders', panels: [{ type: 'timeseries' }] }),
  'deploy/prometheus/orders.rules.yml':
    'groups:\n  - name: orders\n    rules:\n      - alert: OrdersErrorBudgetBurn\n        expr: up == 0\n',
};

let roots: string[] = [];
afterEach(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
  roots = [];
});

function workspace(change: (files: Record<string, string>) => void = () => {}): string {
  const root = mkdtempSync(join(tmpdir(), 'rampart-doctor-'));
  roots.push(root);
  const files = { ...COMPLETE };
  change(files);
  for (const [path, text] of Object.entries(files)) {
    const target = join(root, 'apps', 'orders', path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, text);
  }
  return root;
}

function failures(root: string): Record<string, string> {
  const [service] = runDoctor(root).services;
  return Object.fromEntries(
    (service?.results ?? []).filter((result) => !result.ok).map((result) => [result.check, result.detail]),
  );
}

const edit = (path: string, from: string | RegExp, to: string) => (files: Record<string, string>) => {
  const text = files[path] ?? '';
  const next = text.replace(from, to);
  if (next === text) throw new Error(`fixture edit did not apply to ${path}`);
  files[path] = next;
};

describe('pnpm doctor', () => {
  it('passes a complete service', () => {
    const report = runDoctor(workspace());
    expect(failures(workspace())).toEqual({});
    expect(report.ok).toBe(true);
    expect(formatReport(report)).toContain('doctor: 1 service(s), all checks pass');
  });

  it.each([
    [
      'observability',
      edit('src/app.ts', 'await app.register(observability, { metrics });', ''),
      'observability not registered',
    ],
    [
      'health',
      edit('src/app.ts', 'await app.register(resiliencePlugin, { health });', ''),
      'health routes missing: /health/live, /health/ready',
    ],
    [
      'rate-limit',
      edit('src/app.ts', /await app\.register\(rateLimitPlugin[^;]*;/, ''),
      'rate limit not registered',
    ],
    [
      'security-headers',
      edit('src/app.ts', 'await app.register(headers);', ''),
      'security headers not registered',
    ],
    [
      'auth',
      edit('src/app.ts', 'await app.register(apiKeyAuthPlugin, { verifier });', ''),
      'apiKeyAuthPlugin not registered',
    ],
    [
      'auth',
      edit(
        'src/orders/routes.ts',
        "{ config: { auth: { scopes: ['orders:write'] } }, schema: {} }",
        '{ schema: {} }',
      ),
      'no auth decision (config.auth) on: POST / (src/orders/routes.ts:5)',
    ],
    [
      'auth',
      edit(
        'src/orders/routes.ts',
        "const read = { auth: { scopes: ['orders:read'] } }",
        'const read = { rateLimitTier: "x" }',
      ),
      'GET / (src/orders/routes.ts:4)',
    ],
    [
      'auth',
      edit(
        'src/orders/routes.ts',
        "url: '/:id', config: { auth: { scopes: ['orders:write'] } },",
        "url: '/:id',",
      ),
      'DELETE /:id',
    ],
    [
      'shutdown',
      (files: Record<string, string>) => delete files['src/server.ts'],
      'graceful shutdown missing',
    ],
    [
      'conformance',
      (files: Record<string, string>) => delete files['test/hardening.test.ts'],
      'conformance suite missing',
    ],
    [
      'conformance',
      edit('package.json', '@rampart/testing', '@rampart/other'),
      'package.json does not depend on it',
    ],
    [
      'dashboard',
      (files: Record<string, string>) => delete files['deploy/grafana/orders.json'],
      'dashboard missing',
    ],
    [
      'alert-rules',
      edit('deploy/prometheus/orders.rules.yml', '- alert:', '- record:'),
      'alert rules missing',
    ],
  ] as const)('fails %s when a piece is missing (%#)', (check, change, message) => {
    const found = failures(workspace(change));
    expect(Object.keys(found)).toEqual([check]);
    expect(found[check]).toContain(message);
  });

  it('does not count a plugin that is only named in a comment', () => {
    const root = workspace(
      edit('src/app.ts', 'await app.register(headers);', '// await app.register(headers);'),
    );
    expect(Object.keys(failures(root))).toEqual(['security-headers']);
  });

  it('prints the table and exits 1 from the CLI', () => {
    const root = workspace(edit('src/app.ts', 'await app.register(headers);', ''));
    mkdirSync(join(root, 'apps', 'billing'));
    writeFileSync(join(root, 'apps', 'billing', 'package.json'), '{"name":"billing"}');
    const cli = fileURLToPath(new URL('./cli.ts', import.meta.url));
    const run = spawnSync(process.execPath, [cli, root], { encoding: 'utf8' });
    expect(run.status).toBe(1);
    const lines = run.stdout.split('\n');
    expect(lines[0]).toMatch(
      /^service +observability +health +auth +rate-limit +security-headers +shutdown +conformance +dashboard +alert-rules$/,
    );
    expect(lines.find((line) => line.startsWith('orders'))).toMatch(
      /^orders +ok +ok +ok +ok +FAIL +ok +ok +ok +ok$/,
    );
    expect(lines.find((line) => line.startsWith('billing'))).toMatch(/FAIL/);
    expect(run.stdout).toContain('orders: security-headers: security headers not registered');
    const clean = spawnSync(process.execPath, [cli, workspace()], { encoding: 'utf8' });
    expect(clean.status).toBe(0);
    const typo = spawnSync(process.execPath, [cli, join(root, 'typo')], { encoding: 'utf8' });
    expect(typo.status).toBe(2);
    expect(typo.stderr).toContain('has no apps/ folder');
  });
});

import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScratch, type Scratch } from './scratch.ts';

describe('gen service', () => {
  let scratch: Scratch;
  beforeAll(() => {
    scratch = createScratch();
  });
  afterAll(() => scratch.remove());

  it.each([
    ['a service name that is not kebab-case', ['service', 'Payments'], 'must be kebab-case'],
    ['a reserved service name', ['service', 'shared'], '"shared" is reserved'],
    ['an existing service', ['service', 'api'], 'apps/api already exists'],
    ['a service name a package has', ['service', 'db'], '"db" is already a package name'],
    [
      'a service name a tooling package has',
      ['service', 'doctor'],
      '/doctor" is already the name of the workspace package in tooling/doctor',
    ],
    [
      "a port that is apps/api's worker health port (its port + 1000)",
      ['service', 'payments', '--port', '4000'],
      "port 4000 is already the default of another service in apps/ (apps/api's worker health port)",
    ],
    [
      "a port whose worker health port (+ 1000) is apps/api's port",
      ['service', 'payments', '--port', '2000'],
      "port 2000 would give the service's worker the health port 3000, already the default of another service in apps/ (apps/api's port)",
    ],
    ['a service without a name and no terminal', ['service'], 'missing --name (no terminal to ask)'],
    ['a bad port', ['service', 'payments', '--port', '80'], 'port "80" must be a whole number'],
    ['a task in an unknown service', ['task', 'payments', 'settle'], 'service "payments" does not exist'],
    ['a task without a name', ['task', 'api'], 'missing --name (no terminal to ask)'],
    ['a resource without fields', ['resource', 'api', 'refunds'], 'missing --fields (no terminal to ask)'],
    ['bad fields', ['resource', 'api', 'refunds', '--fields', 'amount:money'], 'unknown type "money"'],
    [
      'an existing resource',
      ['resource', 'api', 'items', '--fields', 'a:string'],
      'src/items already exists',
    ],
  ])('refuses %s, writing nothing', (_what, args, message) => {
    const result = scratch.gen(...args);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(scratch.status()).toBe('');
  });

  it('writes a service, a task and a resource that install offline, pass their own checks and boot', {
    timeout: 600_000,
  }, async () => {
    const generated = scratch.gen(
      'service',
      'payments',
      '--port',
      '3100',
      '--description',
      'Takes payments.',
    );
    expect(generated.stderr).toBe('');
    expect(generated.code).toBe(0);
    const dir = join(scratch.dir, 'apps/payments');

    const manifest = JSON.parse(readFileSync(join(dir, 'rampart.json'), 'utf8'));
    expect(manifest).toEqual({
      generator: 'service',
      templateVersion: expect.any(Number),
      answers: { name: 'payments', port: 3100, description: 'Takes payments.' },
    });
    const dockerfile = readFileSync(join(dir, 'Dockerfile'), 'utf8');
    expect(dockerfile).toContain('prune @rampart/payments --docker');
    expect(dockerfile).toContain('USER node');
    expect(dockerfile).toMatch(/HEALTHCHECK .*\n.*\/health\/live/);

    const install = scratch.run('pnpm', [
      'install',
      '--offline',
      '--no-frozen-lockfile',
      '--reporter=silent',
    ]);
    expect(install.code, install.output).toBe(0);

    const task = scratch.gen('task', 'payments', 'settle-payouts', '--cron', '*/15 * * * *');
    expect(task.stderr).toBe('');
    expect(task.code).toBe(0);
    const resource = scratch.gen(
      'resource',
      'payments',
      'refunds',
      '--fields',
      'reason:string,amount:decimal,cardHolder:encrypted-string,settledAt:timestamp?,note:text?',
    );
    expect(resource.stderr).toBe('');
    expect(resource.code).toBe(0);
    expect(resource.stdout).toContain('create  apps/payments/migrations/0001_refunds.sql');
    const recorded = JSON.parse(readFileSync(join(dir, 'rampart.json'), 'utf8'));
    expect(recorded.applied.map((entry: { generator: string }) => entry.generator)).toEqual([
      'task',
      'resource',
    ]);
    // turbo picks the new service up with no hand edits.
    const turbo = scratch.run('pnpm', [
      'turbo',
      'run',
      'typecheck',
      'lint',
      'test',
      '--filter=@rampart/payments',
    ]);
    expect(turbo.code, turbo.output).toBe(0);
    expect(turbo.output).toContain('@rampart/payments:test');

    // A key made with the service's own CLI, then the server on the same PGlite directory.
    const dataEnv = { ...process.env, DATA_DIR: join(scratch.dir, '.data/payments'), LOG_LEVEL: 'warn' };
    const created = spawnSync(
      process.execPath,
      [
        join(dir, 'src/cli.ts'),
        'create',
        '--name',
        'ci',
        '--scopes',
        'items:read,refunds:read,refunds:write',
      ],
      {
        cwd: dir,
        env: dataEnv,
        encoding: 'utf8',
      },
    );
    expect(created.status, created.stderr).toBe(0);
    const { key } = JSON.parse(created.stdout) as { key: string };

    const child = spawn(process.execPath, [join(dir, 'src/server.ts')], {
      cwd: dir,
      env: { ...dataEnv, PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      // Keep reading stdout for the child's whole life: a closed pipe must not be what the test measures.
      let out = '';
      const address = await new Promise<string | undefined>((resolve) => {
        child.stdout.on('data', (chunk) => {
          out += String(chunk);
          const match = /payments listening on (http:\/\/\S+)/.exec(out);
          if (match) resolve(match[1]);
        });
        child.on('exit', () => resolve(undefined));
      });
      expect(address, out).toBeDefined();
      expect((await fetch(`${address}/health/ready`)).status).toBe(200);
      const metrics = await fetch(`${address}/metrics`);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toContain('http_server_requests_total');
      expect((await fetch(`${address}/items`)).status).toBe(401);
      const items = await fetch(`${address}/items`, { headers: { 'x-api-key': key } });
      expect(items.status).toBe(200);
      expect(await items.json()).toEqual({ items: [], nextCursor: null });

      expect((await fetch(`${address}/refunds`)).status).toBe(401);
      const refund = { reason: 'duplicate charge', amount: '19.99', cardHolder: 'Ada Lovelace' };
      const created = await fetch(`${address}/refunds`, {
        method: 'POST',
        headers: { 'x-api-key': key, 'content-type': 'application/json' },
        body: JSON.stringify(refund),
      });
      expect(created.status).toBe(201);
      expect(await created.json()).toMatchObject({ ...refund, settledAt: null, note: null });
      const refunds = await fetch(`${address}/refunds`, { headers: { 'x-api-key': key } });
      expect(refunds.status).toBe(200);
      expect(((await refunds.json()) as { items: unknown[] }).items).toEqual([
        expect.objectContaining(refund),
      ]);
      // The encrypted field's plaintext never reaches the log.
      expect(out).not.toContain('Ada Lovelace');
    } finally {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  });

  it('picks the next free port when none is given', () => {
    const result = scratch.gen('service', 'billing', '--dry-run');
    expect(result.code).toBe(0);
    const other = scratch.gen('service', 'billing');
    expect(other.code).toBe(0);
    const manifest = JSON.parse(readFileSync(join(scratch.dir, 'apps/billing/rampart.json'), 'utf8'));
    expect(manifest.answers.port).not.toBe(3000); // apps/api's
    expect(manifest.answers.port).toBeGreaterThanOrEqual(3000);
  });

  it('refuses a port another service already uses, writing nothing', () => {
    const before = scratch.status();
    const result = scratch.gen('service', 'ledger', '--port', '3000');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('port 3000 is already the default of another service');
    expect(scratch.status()).toBe(before);
  });
});

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESOURCE_TEMPLATE_VERSION } from '../src/resource-generator.ts';
import { TASK_TEMPLATE_VERSION } from '../src/task-generator.ts';
import { createScratch, type Scratch } from './scratch.ts';

const FIELDS =
  'title:string,amount:integer,email:encrypted-string,note:text?,price:decimal,ratio:number,paid:boolean,dueAt:timestamp?,customerId:uuid';

// Against apps/api as the service generator made it: gen task and gen resource extend a service already in
// the tree, not only one they generate themselves.
describe('gen task and gen resource on apps/api', () => {
  let scratch: Scratch;
  beforeAll(() => {
    scratch = createScratch();
  });
  afterAll(() => scratch.remove());

  it.each([
    ['an unknown service', ['task', 'nope', 'report'], 'service "nope" does not exist'],
    ['a task name that is not kebab-case', ['task', 'api', 'NightlyReport'], 'must be kebab-case'],
    ['a task without a name and no terminal', ['task', 'api'], 'missing --name (no terminal to ask)'],
    ['a cron with too few fields', ['task', 'api', 'report', '--cron', '0 3 * *'], 'must have 5 fields'],
    ['a cron out of range', ['task', 'api', 'report', '--cron', '0 25 * * *'], 'hour "25" is out of range'],
    [
      'a cron on a day the month never has (pg-boss refuses it at start)',
      ['task', 'api', 'report', '--cron', '0 0 30 feb *'],
      'day-of-month 30 never occurs in month feb',
    ],
    ['a bad retry count', ['task', 'api', 'report', '--retries', 'many'], '--retries "many" must be'],
    [
      'a resource in an unknown service',
      ['resource', 'nope', 'invoices', '--fields', 'a:string'],
      'service "nope"',
    ],
    ['a resource without --fields and no terminal', ['resource', 'api', 'invoices'], 'missing --fields'],
    [
      'a resource that exists',
      ['resource', 'api', 'items', '--fields', 'a:string'],
      'apps/api/src/items already exists',
    ],
    ['a reserved resource name', ['resource', 'api', 'utils', '--fields', 'a:string'], '"utils" is reserved'],
    [
      'a table the database has',
      ['resource', 'api', 'audit-log', '--fields', 'a:string'],
      'table "audit_log"',
    ],
    ['an unknown field type', ['resource', 'api', 'invoices', '--fields', 'a:money'], 'unknown type "money"'],
    [
      'a bad field name',
      ['resource', 'api', 'invoices', '--fields', 'Total:integer'],
      'camelCase or snake_case',
    ],
    [
      'a duplicate field',
      ['resource', 'api', 'invoices', '--fields', 'a:string,a:text'],
      '"a" is given twice',
    ],
    ['a reserved field', ['resource', 'api', 'invoices', '--fields', 'created_at:timestamp'], 'is reserved'],
    [
      'a field every object has',
      ['resource', 'api', 'invoices', '--fields', 'title:string,toString:string'],
      'every object already has a property "toString"',
    ],
    [
      'two fields with one property',
      ['resource', 'api', 'invoices', '--fields', 'foo_1:string,foo1:integer'],
      '"foo1" is given twice',
    ],
    [
      "a column over PostgreSQL's 63 bytes",
      ['resource', 'api', 'invoices', '--fields', `${'aB'.repeat(25)}:string`],
      'PostgreSQL allows at most 63',
    ],
  ])('refuses %s, writing nothing', (_what, args, message) => {
    const result = scratch.gen(...args);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(scratch.status()).toBe('');
  });

  it('refuses an app without rampart.json, writing nothing', () => {
    rmSync(join(scratch.dir, 'apps/api/rampart.json'));
    try {
      for (const args of [
        ['task', 'api', 'report'],
        ['resource', 'api', 'invoices', '--fields', 'a:string'],
      ]) {
        const result = scratch.gen(...args);
        expect(result.code).toBe(1);
        expect(result.stderr).toContain('apps/api is not a Rampart service: it has no rampart.json');
      }
    } finally {
      scratch.run('git', ['checkout', '--', 'apps/api/rampart.json']);
    }
    expect(scratch.status()).toBe('');
  });

  it.each([
    ['its import', "import { createLeftoverTask } from './tasks/leftover.ts';\n", ''],
    ['its factory', '', 'createLeftoverTask(database)'],
  ])(
    'refuses a task whose files are gone but whose registration (%s) is left in src/tasks.ts',
    (_what, line, item) => {
      const path = join(scratch.dir, 'apps/api/src/tasks.ts');
      const tasks = readFileSync(path, 'utf8');
      const edited = `${line}${tasks.replace('return [verifyAudit];', `return [verifyAudit${item ? `, ${item}` : ''}];`)}`;
      expect(edited).not.toBe(tasks);
      writeFileSync(path, edited);
      try {
        const before = scratch.status();
        const result = scratch.gen('task', 'api', 'leftover');
        expect(result.code).toBe(1);
        expect(result.stderr).toContain('apps/api/src/tasks.ts already registers a task "leftover"');
        expect(result.stderr).not.toMatch(/\n\s+at /);
        expect(scratch.status()).toBe(before);
        expect(readFileSync(path, 'utf8')).toBe(edited);
      } finally {
        writeFileSync(path, tasks);
      }
      expect(scratch.status()).toBe('');
    },
  );

  // Ctrl-C reaches the whole process group (gen and the drizzle-kit it runs); `kill` reaches gen alone.
  it.each([
    ['SIGINT', 'the process group (Ctrl-C)', 130, true],
    ['SIGTERM', 'gen alone', 143, false],
  ] as const)(
    'on %s to %s while drizzle-kit runs, removes its staging copy, writes nothing and exits %s',
    async (signal, _to, status, group) => {
      const api = join(scratch.dir, 'apps/api');
      const staging = () => readdirSync(api).filter((entry) => entry.startsWith('.gen-staging-'));
      const child = spawn(
        process.execPath,
        [
          join(scratch.dir, 'generators/src/cli.ts'),
          'resource',
          'api',
          'refunds',
          '--fields',
          'reason:string',
        ],
        {
          cwd: scratch.dir,
          env: { ...process.env, INIT_CWD: scratch.dir },
          stdio: ['ignore', 'pipe', 'pipe'],
          detached: true,
        },
      );
      let output = '';
      child.stdout.on('data', (chunk) => {
        output += String(chunk);
      });
      child.stderr.on('data', (chunk) => {
        output += String(chunk);
      });
      const exited = once(child, 'exit');
      // The migration's staging copy inside apps/api exists from before drizzle-kit starts until it is removed.
      const deadline = Date.now() + 60_000;
      while (staging().length === 0) {
        expect(Date.now(), `no staging copy appeared: ${output}`).toBeLessThan(deadline);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      process.kill(group ? -child.pid! : child.pid!, signal);
      const [code, killedBy] = (await exited) as [number | null, NodeJS.Signals | null];

      expect({ code, killedBy }, output).toEqual({ code: status, killedBy: null });
      expect(output).toContain(`gen: interrupted by ${signal}; nothing was written`);
      expect(output).not.toMatch(/\n\s+at /);
      expect(staging()).toEqual([]);
      expect(readdirSync(scratch.dir).filter((entry) => entry.startsWith('.gen-staging-'))).toEqual([]);
      expect(scratch.status()).toBe('');
    },
  );

  it('adds a scheduled task and an encrypted resource that pass typecheck, lint and their own tests', {
    timeout: 400_000,
  }, () => {
    const task = scratch.gen('task', 'api', 'nightly-report', '--cron', '0 3 * * *', '--retries', '2');
    expect(task.stderr).toBe('');
    expect(task.code).toBe(0);
    expect(task.stdout).toContain('create  apps/api/src/tasks/nightly-report.ts');
    expect(task.stdout).toContain('update  apps/api/src/tasks.ts');
    const again = scratch.gen('task', 'api', 'nightly-report');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('apps/api/src/tasks/nightly-report.ts already exists');

    const resource = scratch.gen('resource', 'api', 'invoices', '--fields', FIELDS);
    expect(resource.stderr).toBe('');
    expect(resource.code).toBe(0);
    for (const file of [
      'create  apps/api/src/invoices/schema.ts',
      'create  apps/api/src/invoices/routes.ts',
      'create  apps/api/test/invoices.test.ts',
      'create  apps/api/migrations/0001_invoices.sql',
      'create  apps/api/migrations/meta/0001_snapshot.json',
      'update  apps/api/migrations/meta/_journal.json',
      'update  apps/api/src/app.ts',
      'update  apps/api/src/env.ts',
      'update  apps/api/deploy/k8s/base/deployment-api.yaml',
    ]) {
      expect(resource.stdout).toContain(file);
    }

    const api = join(scratch.dir, 'apps/api');
    expect(readFileSync(join(api, 'src/tasks.ts'), 'utf8')).toContain(
      'return [verifyAudit, createNightlyReportTask(database)];',
    );
    expect(readFileSync(join(api, 'migrations/0001_invoices.sql'), 'utf8')).toContain(
      'CREATE TABLE "invoices"',
    );
    const manifest = JSON.parse(readFileSync(join(api, 'rampart.json'), 'utf8'));
    expect(manifest.applied).toEqual([
      {
        generator: 'task',
        templateVersion: TASK_TEMPLATE_VERSION,
        answers: {
          service: 'api',
          name: 'nightly-report',
          description: 'A background task.',
          cron: '0 3 * * *',
          retries: 2,
        },
      },
      {
        generator: 'resource',
        templateVersion: RESOURCE_TEMPLATE_VERSION,
        answers: {
          service: 'api',
          name: 'invoices',
          fields: FIELDS,
          description: 'A resource of this service.',
        },
      },
    ]);

    for (const args of [
      ['exec', 'tsc', '-p', 'tsconfig.json', '--noEmit'],
      ['exec', 'biome', 'check', '--error-on-warnings', '.'],
      ['exec', 'vitest', 'run', 'src/tasks', 'test/invoices.test.ts'],
    ]) {
      const step = scratch.run('pnpm', args, api);
      expect(step.code, `${args.join(' ')}\n${step.output}`).toBe(0);
    }
  });
});

import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScratch, type Scratch } from './scratch.ts';

// Against apps/api as the service generator made it: gen task must extend a service already in the tree.
describe('gen task', () => {
  let scratch: Scratch;
  beforeAll(() => {
    scratch = createScratch();
  });
  afterAll(() => scratch.remove());

  it.each([
    ['an unknown service', ['task', 'nope', 'report'], 'service "nope" does not exist'],
    ['a task name that is not kebab-case', ['task', 'api', 'NightlyReport'], 'must be kebab-case'],
    ['a missing name without a terminal', ['task', 'api'], 'missing --name (no terminal to ask)'],
    ['a cron with too few fields', ['task', 'api', 'report', '--cron', '0 3 * *'], 'must have 5 fields'],
    ['a cron out of range', ['task', 'api', 'report', '--cron', '0 25 * * *'], 'hour "25" is out of range'],
    ['a bad retry count', ['task', 'api', 'report', '--retries', 'many'], '--retries "many" must be'],
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
      const result = scratch.gen('task', 'api', 'report');
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('apps/api is not a Rampart service: it has no rampart.json');
    } finally {
      scratch.run('git', ['checkout', '--', 'apps/api/rampart.json']);
    }
    expect(scratch.status()).toBe('');
  });

  it('adds a scheduled task to apps/api that passes its typecheck, lint and its own test', {
    timeout: 300_000,
  }, () => {
    const result = scratch.gen('task', 'api', 'nightly-report', '--cron', '0 3 * * *', '--retries', '2');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('create  apps/api/src/tasks/nightly-report.ts');
    expect(result.stdout).toContain('update  apps/api/src/tasks.ts');

    const api = join(scratch.dir, 'apps/api');
    expect(readFileSync(join(api, 'src/tasks.ts'), 'utf8')).toContain(
      'return [verifyAudit, createNightlyReportTask(database)];',
    );
    const manifest = JSON.parse(readFileSync(join(api, 'rampart.json'), 'utf8'));
    expect(manifest.applied).toEqual([
      {
        generator: 'task',
        templateVersion: 1,
        answers: {
          service: 'api',
          name: 'nightly-report',
          description: 'A background task.',
          cron: '0 3 * * *',
          retries: 2,
        },
      },
    ]);

    const again = scratch.gen('task', 'api', 'nightly-report');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('apps/api/src/tasks/nightly-report.ts already exists');

    for (const args of [
      ['exec', 'tsc', '-p', 'tsconfig.json', '--noEmit'],
      ['exec', 'biome', 'check', '--error-on-warnings', '.'],
      ['exec', 'vitest', 'run', 'src/tasks'],
    ]) {
      const step = scratch.run('pnpm', args, api);
      expect(step.code, `${args.join(' ')}\n${step.output}`).toBe(0);
    }
  });
});

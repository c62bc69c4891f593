import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScratch, type Scratch } from './scratch.ts';
import { hasTerminal, openTerminal } from './terminal.ts';

const ENTER = '\r';
const CTRL_C = '\x03';
const CTRL_D = '\x04';
const CTRL_U = '\x15';

// With a terminal attached, gen asks for what the command line left out. Each test types into a real
// pseudo-terminal, key by key, after the prompt it answers is on the screen.
describe.skipIf(!hasTerminal)('gen at a terminal', () => {
  let scratch: Scratch;
  beforeAll(() => {
    scratch = createScratch();
  });
  afterAll(() => scratch.remove());

  const reset = () => {
    scratch.run('git', ['checkout', '--', '.']);
    scratch.run('git', ['clean', '-fdq']);
  };

  it('takes Enter at an optional question as leaving its flag out (the default it shows)', async () => {
    try {
      const term = openTerminal(scratch.dir, ['task']);
      await term.waitFor('Service to add it to');
      term.type(`api${ENTER}`);
      await term.waitFor('Task name (kebab-case)');
      term.type(`nightly${ENTER}`);
      for (const question of [
        'Cron schedule',
        'Retries after the first attempt',
        'Handler timeout in milliseconds',
        'Handlers at once per worker process',
        'One line on what it does',
      ]) {
        await term.waitFor(question);
        term.type(ENTER);
      }
      expect(await term.exit(), term.screen()).toBe(0);
      // Each question says what an empty answer takes.
      for (const shown of [
        'Cron schedule, 5 fields or 6 with seconds first (empty for none)',
        'Retries after the first attempt (empty for 3)',
        'Handler timeout in milliseconds (empty for 60000)',
        'Handlers at once per worker process (empty for 5)',
        'One line on what it does (A background task.)',
      ]) {
        expect(term.screen()).toContain(shown);
      }
      expect(term.screen()).toContain('create  apps/api/src/tasks/nightly.ts');

      // Recorded as `gen task api nightly` records it: no answer for what was left empty.
      const manifest = JSON.parse(readFileSync(join(scratch.dir, 'apps/api/rampart.json'), 'utf8'));
      expect(manifest.applied.at(-1).answers).toEqual({
        service: 'api',
        name: 'nightly',
        description: 'A background task.',
      });
      const task = readFileSync(join(scratch.dir, 'apps/api/src/tasks/nightly.ts'), 'utf8');
      expect(task).toContain('retry: { limit: 3,');
      expect(task).toContain('timeout: 60000,');
      expect(task).toContain('concurrency: 5,');
      expect(task).not.toContain('schedule:');
    } finally {
      reset();
    }
    expect(scratch.status()).toBe('');
  });

  it("takes Enter at gen service's port as the next free port, the one it shows", async () => {
    try {
      const term = openTerminal(scratch.dir, ['service']);
      await term.waitFor('Service name (kebab-case)');
      term.type(`billing${ENTER}`);
      await term.waitFor('Port it listens on by default');
      term.type(ENTER);
      await term.waitFor('One line on what it does (A Rampart service.)');
      term.type(ENTER);
      expect(await term.exit(), term.screen()).toBe(0);
      const shown = /Port it listens on by default \(empty for (\d+), the next free one\)/.exec(
        term.screen(),
      )?.[1];
      expect(shown).toBeDefined();
      const manifest = JSON.parse(readFileSync(join(scratch.dir, 'apps/billing/rampart.json'), 'utf8'));
      expect(manifest.answers).toEqual({
        name: 'billing',
        port: Number(shown),
        description: 'A Rampart service.',
      });
    } finally {
      reset();
    }
    expect(scratch.status()).toBe('');
  });

  it('refuses a task name the service has as soon as it is typed, and asks again', async () => {
    const made = scratch.gen('task', 'api', 'nightly');
    expect(made.code, made.stderr).toBe(0);
    try {
      const before = scratch.status();
      const term = openTerminal(scratch.dir, ['task']);
      await term.waitFor('Service to add it to');
      term.type(`api${ENTER}`);
      await term.waitFor('Task name (kebab-case)');
      term.type(`nightly${ENTER}`);
      // Before the next question, not after the last one.
      await term.waitFor('>> apps/api/src/tasks/nightly.ts already exists');
      expect(term.screen()).not.toContain('Cron schedule');
      term.type(`${CTRL_U}weekly${ENTER}`);
      await term.waitFor('Cron schedule');
      term.type(CTRL_D);
      expect(await term.exit(), term.screen()).toBe(1);
      expect(scratch.status()).toBe(before);
    } finally {
      reset();
    }
    expect(scratch.status()).toBe('');
  });

  it.each([
    ['a required question', ['package'], 'Package name (kebab-case)', '--name'],
    ['an optional question', ['task', 'api'], 'Retries after the first attempt', '--retries'],
  ])('exits 1 naming the answer and writes nothing on Ctrl-D at %s', async (_what, args, question, flag) => {
    const term = openTerminal(scratch.dir, args);
    if (args[0] === 'task') {
      await term.waitFor('Task name (kebab-case)');
      term.type(`weekly${ENTER}`);
      await term.waitFor('Cron schedule');
      term.type(ENTER);
    }
    await term.waitFor(question);
    term.type(CTRL_D);
    expect(await term.exit(), term.screen()).toBe(1);
    const screen = term.screen();
    expect(screen).toContain(
      `gen: missing ${flag}: the input ended (Ctrl-D) at its prompt; nothing was written`,
    );
    expect(screen).not.toContain('ERR_USE_AFTER_CLOSE');
    expect(screen).not.toContain('unsettled top-level await');
    expect(screen).not.toMatch(/\n\s+at /);
    expect(scratch.status()).toBe('');
  });

  it('exits 130 and writes nothing on Ctrl-C at a prompt', async () => {
    const term = openTerminal(scratch.dir, ['task', 'api']);
    await term.waitFor('Task name (kebab-case)');
    term.type(`half${CTRL_C}`);
    expect(await term.exit(), term.screen()).toBe(130);
    expect(term.screen()).toContain('gen: interrupted by SIGINT (Ctrl-C) at a prompt; nothing was written');
    expect(term.screen()).not.toMatch(/\n\s+at /);
    expect(scratch.status()).toBe('');
  });
});

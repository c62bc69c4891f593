import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { audit } from '@rampart/db';
import { createTestDatabase } from '@rampart/db/testing';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.ts';
import { MIGRATIONS } from '../src/database.ts';
import { parseEnv } from '../src/env.ts';
import { createTasks } from '../src/tasks.ts';

describe('tasks', () => {
  it('audit.verify walks the audit trail and reports its length', async () => {
    const database = await createTestDatabase({ migrations: MIGRATIONS });
    try {
      await database.db.transaction((tx) =>
        audit(tx, { actor: 'test', action: 'item.create', resource: 'item', outcome: 'success' }),
      );
      const [verify] = createTasks(database);
      expect(verify?.name).toBe('audit.verify');
      const result = await verify!.handler(
        {},
        {
          task: 'audit.verify',
          jobId: 'j',
          idempotencyKey: 'j',
          attempt: 1,
          signal: new AbortController().signal,
        },
      );
      expect(result).toEqual({ rows: 1 });
    } finally {
      await database.close();
    }
  });
});

describe('tasks in the API process', () => {
  it('runs an enqueued job on embedded PGlite, where no worker process can share the database', async () => {
    const database = await createTestDatabase({ migrations: MIGRATIONS, backend: 'pglite' });
    const app = await buildApp({ env: parseEnv({ LOG_LEVEL: 'silent', LOAD_SHEDDING: 'off' }), database });
    try {
      expect(app.tasks.worker).toBeDefined();
      // Enqueue the very task object the queue was built with (the queue refuses look-alikes).
      const verify = app.tasks.queue.tasks.get('audit.verify');
      expect(verify).toBeDefined();
      await app.tasks.queue.enqueue(verify!, {});
      // Read what the worker emitted: the completed job shows in the task metrics.
      const completed = /^tasks_jobs_total\{[^}]*task="audit\.verify"[^}]*kind="completed"[^}]*\} 1$/m;
      let text = '';
      for (let tries = 0; tries < 100 && !completed.test(text); tries += 1) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      }
      expect(text).toMatch(completed);
    } finally {
      await app.close();
      await database.close();
    }
  });
});

describe('worker process', () => {
  it('refuses to start on embedded PGlite, saying why', () => {
    const worker = fileURLToPath(new URL('../src/worker.ts', import.meta.url));
    const result = spawnSync(process.execPath, [worker], {
      env: { PATH: process.env.PATH },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('DATABASE_URL is required');
  });

  it('refuses to start on a database it cannot reach: one line naming the code, no stack trace', () => {
    const worker = fileURLToPath(new URL('../src/worker.ts', import.meta.url));
    const result = spawnSync(process.execPath, [worker], {
      env: { PATH: process.env.PATH, DATABASE_URL: 'postgres://nobody:secret-pw@127.0.0.1:1/none' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/worker: could not start: RAMPART_DB_[A-Z_]+: /);
    expect(result.stderr).not.toMatch(/\n\s+at |secret-pw/);
  });
});

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { audit } from '@rampart/db';
import { createTestDatabase } from '@rampart/db/testing';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../src/database.ts';
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
});

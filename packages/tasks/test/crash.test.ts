import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, testDatabaseUrl } from '@rampart/db/testing';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { createTaskQueue } from '../src/task-queue.ts';
import { effectTask } from './fixtures/effect-task.ts';
import { until } from './harness.ts';

const url = testDatabaseUrl();
const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const tasksModule = fileURLToPath(new URL('./fixtures/effect-worker-tasks.ts', import.meta.url));
const JOBS = 1000;

function startWorker(schema: string): { child: ChildProcess; ready: Promise<void> } {
  const child = spawn(process.execPath, [cli, tasksModule], {
    env: {
      ...process.env,
      DATABASE_URL: url,
      TASKS_SCHEMA: schema,
      TASKS_POOL_SIZE: '4',
      TASKS_POLL_INTERVAL_MS: '200',
      TASKS_SUPERVISE_INTERVAL_SECONDS: '1',
      TASKS_SHUTDOWN_GRACE_MS: '2000',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('running')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`worker exited with ${code} before it was ready`)));
  });
  ready.catch(() => {});
  return { child, ready };
}

describe.skipIf(url === undefined)('crash safety on PostgreSQL', () => {
  it('loses no job and writes each side effect once with the worker SIGKILLed three times', async () => {
    const database = await createTestDatabase({ backend: 'postgresql' });
    const schema = database.schemaName!;
    const table = sql.identifier(schema);
    await database.db.execute(sql`create table ${table}.attempts (key text not null, attempt int not null)`);
    await database.db.execute(sql`create table ${table}.effects (key text primary key)`);
    const task = effectTask(async () => {});
    const queue = createTaskQueue({ database, schema, tasks: [task], supervise: false, poolSize: 4 });
    const children: ChildProcess[] = [];
    try {
      await queue.start();
      for (let n = 0; n < JOBS; n += 50) {
        await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            queue.enqueue(task, { n: n + i }, { idempotencyKey: `job-${n + i}` }),
          ),
        );
      }
      const count = async (query: ReturnType<typeof sql>) =>
        Number(((await database.db.execute(query)).rows[0] as { count: string | number }).count);
      const effects = () => count(sql`select count(*) from ${table}.effects`);

      const kills: number[] = [];
      for (let kill = 0; kill < 3; kill += 1) {
        const { child, ready } = startWorker(schema);
        children.push(child);
        await ready;
        await new Promise((resolve) => setTimeout(resolve, 300 + Math.random() * 500));
        const done = await effects();
        expect(done).toBeLessThan(JOBS); // the kill lands while there is work in flight
        child.kill('SIGKILL');
        await once(child, 'exit');
        kills.push(done);
      }

      const { child, ready } = startWorker(schema);
      children.push(child);
      await ready;
      await until(
        async () =>
          (await count(
            sql`select count(*) from ${table}.job where name = 'effect' and state = 'completed'`,
          )) === JOBS,
        'every job to complete',
        40_000,
      ).catch(async (error: unknown) => {
        const states = await database.db.execute(
          sql`select state, count(*), min(retry_count), max(retry_count), min(start_after) as sa, max(started_on) as so, now() from ${table}.job group by state`,
        );
        console.warn(JSON.stringify(states.rows));
        throw error;
      });
      child.kill('SIGTERM');
      const [code] = await once(child, 'exit');
      expect(code).toBe(0);

      const perKey = await database.db.execute(
        sql`select count(*) as count from ${table}.effects group by key having count(*) <> 1`,
      );
      expect(perKey.rows).toEqual([]);
      expect(await effects()).toBe(JOBS);
      const runs = await count(sql`select count(*) from ${table}.attempts`);
      const retries = await count(
        sql`select coalesce(sum(retry_count), 0) as count from ${table}.job where name = 'effect'`,
      );
      const failedOrDead = await count(sql`select count(*) from ${table}.job where state <> 'completed'`);
      console.warn(
        `crash test: ${JOBS} jobs, SIGKILL after ${kills.join(', ')} effects; ${runs} handler runs, ${retries} retries counted by pg-boss, ${await effects()} effects`,
      );
      expect(failedOrDead).toBe(0);
      expect(retries).toBeGreaterThan(0);
      expect(runs).toBeGreaterThan(JOBS);
    } finally {
      for (const child of children)
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await queue.stop();
      await database.close();
    }
  }, 90_000);
});

import { createDb } from '@rampart/db';
import { createTaskQueue, defineTask } from '@rampart/tasks';
import Type from 'typebox';
import { describe, expect, it } from 'vitest';
import {
  baseEnv,
  checkPostgresBinaries,
  reportFigures,
  startPostgresCluster,
  startWorker,
} from '../src/index.ts';
import { available, bounded, cleanup, HEAVY, sleep } from './support.ts';

// A stand-in with the name, schema and options of apps/api's audit.verify (src/tasks.ts, not among the
// app's exports): this process only enqueues; the service's own worker process runs the jobs.
const auditVerify = defineTask({
  name: 'audit.verify',
  schema: Type.Object({}, { additionalProperties: false }),
  schedule: { cron: '17 * * * *', payload: {} },
  retry: { limit: 1 },
  timeout: 10 * 60_000,
  concurrency: 1,
  handler: async () => undefined,
});

type States = Record<string, number>;

/** node-postgres's Pool under `db.$client`, as much of it as this test uses. */
interface Queryable {
  query<T>(text: string, params: unknown[]): Promise<{ rows: T[] }>;
}

async function jobStates(client: Queryable, ids: readonly string[]): Promise<States> {
  const { rows } = await client.query<{ state: string; count: string }>(
    `select state::text as state, count(*)::text as count from rampart_tasks.job
      where name = 'audit.verify' and id = any($1::uuid[]) group by state`,
    [ids],
  );
  const states: States = {};
  for (const row of rows) states[row.state] = Number(row.count);
  return states;
}

const total = (states: States) => Object.values(states).reduce((sum, count) => sum + count, 0);

describe.runIf(available(checkPostgresBinaries(), 'worker kill'))('the worker killed during tasks', () => {
  it('loses no job: each is done, or held by the dead worker until it expires, then done', {
    timeout: 300_000,
  }, async () => {
    const server = await startPostgresCluster();
    cleanup(() => server.destroy());
    const env = baseEnv({ DATABASE_URL: server.url, WORKER_HEALTH_PORT: '0' });
    const first = await startWorker(env);
    cleanup(() => first.kill());

    const database = await createDb({ url: server.url, poolSize: 2 });
    cleanup(() => database.close());
    const queue = createTaskQueue({ database, tasks: [auditVerify], supervise: false, runSchedules: false });
    await queue.start();
    cleanup(() => queue.stop());
    const count = bounded(600, 5_000);
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      ids.push((await queue.enqueue(auditVerify, {}, { idempotencyKey: `reliability-${i}` })).jobId);
    }
    const client = (database.db as unknown as { $client: Queryable }).$client;

    // Kill it while it works through the backlog.
    for (let waited = 0; waited < 60_000; waited += 100) {
      if (((await jobStates(client, ids)).completed ?? 0) > count / 10) break;
      await sleep(100);
    }
    await first.signal('SIGKILL');
    const atKill = await jobStates(client, ids);

    const second = await startWorker(env);
    cleanup(() => second.kill());
    let settled: States = atKill;
    const stuck = atKill.active ?? 0;
    for (let waited = 0; waited < 120_000; waited += 250) {
      settled = await jobStates(client, ids);
      if ((settled.completed ?? 0) + stuck >= count) break;
      await sleep(250);
    }
    let expired: States | undefined;
    if (HEAVY && stuck > 0) {
      // The dead worker's job expires after the task's timeout (10 min): fake that much time by moving its
      // start back, and wait for a supervise pass (every 30 s) to retry it.
      await client.query(
        `update rampart_tasks.job set started_on = now() - interval '1 hour'
          where name = 'audit.verify' and state = 'active' and id = any($1::uuid[])`,
        [ids],
      );
      for (let waited = 0; waited < 120_000; waited += 1_000) {
        expired = await jobStates(client, ids);
        if ((expired.completed ?? 0) >= count) break;
        await sleep(1_000);
      }
    }
    await second.signal('SIGTERM');
    reportFigures('worker-kill', {
      jobs: count,
      atKill: Object.entries(atKill)
        .map(([state, n]) => `${state}:${n}`)
        .join(','),
      heldByDeadWorker: stuck,
      afterRestart: Object.entries(settled)
        .map(([state, n]) => `${state}:${n}`)
        .join(','),
      ...(expired
        ? {
            afterExpiry: Object.entries(expired)
              .map(([state, n]) => `${state}:${n}`)
              .join(','),
          }
        : {}),
      lost: count - total(settled),
    });
    expect(atKill.completed ?? 0).toBeLessThan(count);
    expect(total(atKill)).toBe(count);
    expect(total(settled)).toBe(count);
    expect(settled.failed ?? 0).toBe(0);
    // The killed process held at most one running job (concurrency 1) and one finished whose completion
    // was not stored yet (the worker stores a batch's completions just after issuing its next fetch): both
    // wait for their expiry and run again, at least once; every other job completed.
    expect(stuck).toBeLessThanOrEqual(2);
    expect((settled.completed ?? 0) + stuck).toBe(count);
    if (expired) expect(expired.completed).toBe(count);
  });
});

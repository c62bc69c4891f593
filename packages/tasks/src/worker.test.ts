import { sql } from 'drizzle-orm';
import Type from 'typebox';
import { afterEach, describe, expect, it } from 'vitest';
import { backends, type Harness, openHarness, until } from '../test/harness.ts';
import { defineTask, type JobContext } from './define-task.ts';
import { isTasksError } from './errors.ts';
import type { JobEvent } from './observer.ts';
import { createTaskQueue, notifyChannel } from './task-queue.ts';

const Payload = Type.Object({ n: Type.Number() });

describe.each(backends())('worker on %s', (backend) => {
  let harness: Harness | undefined;
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
  });

  it('runs a job with its payload, key and attempt; rejects bad payloads; deduplicates by key', async () => {
    const seen: Array<{ payload: unknown; context: JobContext }> = [];
    const carriers: Array<Record<string, string>> = [];
    const events: JobEvent[] = [];
    const echo = defineTask({
      name: 'echo',
      schema: Payload,
      handler: async (payload, context) => {
        seen.push({ payload, context });
      },
    });
    harness = await openHarness(backend, [echo], {
      observer: {
        inject: () => ({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' }),
        runJob: (job, run) => {
          carriers.push(job.carrier);
          return run();
        },
        onJob: (event) => events.push(event),
      },
    });
    harness.worker().start();

    const bad = await harness.queue.enqueue(echo, { n: 'one' } as never).catch((error: unknown) => error);
    expect(isTasksError(bad, 'RAMPART_TASKS_PAYLOAD_INVALID')).toBe(true);
    expect((bad as { details: unknown }).details).toEqual([expect.objectContaining({ path: '/n' })]);

    for (const options of [
      { idempotencyKey: '' },
      { delay: -1 },
      { delay: Number.NaN },
      { tx: {} as never },
    ]) {
      const error = await harness.queue.enqueue(echo, { n: 1 }, options).catch((caught: unknown) => caught);
      expect(isTasksError(error, 'RAMPART_TASKS_ENQUEUE_OPTIONS_INVALID')).toBe(true);
    }
    const stranger = defineTask({ name: 'echo', schema: Payload, handler: async () => {} });
    const unknown = await harness.queue.enqueue(stranger, { n: 1 }).catch((caught: unknown) => caught);
    expect(isTasksError(unknown, 'RAMPART_TASKS_TASK_UNKNOWN')).toBe(true);

    const first = await harness.queue.enqueue(echo, { n: 1 }, { idempotencyKey: 'order-1' });
    const again = await harness.queue.enqueue(echo, { n: 2 }, { idempotencyKey: 'order-1' });
    expect(first.created).toBe(true);
    expect(again).toEqual({ jobId: first.jobId, created: false });
    await until(() => events.some((event) => event.kind === 'completed'), 'the job to complete');

    expect(seen).toHaveLength(1);
    expect(seen[0]!.payload).toEqual({ n: 1 });
    expect(seen[0]!.context).toMatchObject({
      task: 'echo',
      jobId: first.jobId,
      idempotencyKey: 'order-1',
      attempt: 1,
    });
    expect(carriers).toEqual([{ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' }]);
    // 'queued' is reported once the insert has answered; the job's NOTIFY can wake the worker first, so on a
    // busy machine the job may already have run by then (seen once in CI on PostgreSQL).
    const kinds = events.map((event) => event.kind);
    expect([...kinds].sort()).toEqual(['active', 'completed', 'queued']);
    expect(kinds.indexOf('active')).toBeLessThan(kinds.indexOf('completed'));
    const completed = events.find((event) => event.kind === 'completed');
    expect(completed).toMatchObject({ task: 'echo', jobId: first.jobId, attempt: 1 });
    expect(completed!.durationMs).toBeGreaterThanOrEqual(0);
    expect(events.find((event) => event.kind === 'queued')).toMatchObject({
      task: 'echo',
      jobId: first.jobId,
    });
    expect(harness.errors).toEqual([]);
  });

  it('stores a job enqueued in a transaction only if the transaction commits', async () => {
    const ran: number[] = [];
    const task = defineTask({ name: 'tx-task', schema: Payload, handler: async ({ n }) => void ran.push(n) });
    harness = await openHarness(backend, [task]);
    const { db } = harness.database;
    const { queue } = harness;
    await db.execute(sql`create table orders (id int primary key)`);

    const rolledBack = await db
      .transaction(async (tx) => {
        await tx.execute(sql`insert into orders values (1)`);
        await queue.enqueue(task, { n: 1 }, { tx });
        throw new Error('abort the order');
      })
      .catch((error: Error) => error.message);
    expect(rolledBack).toBe('abort the order');
    await db.transaction(async (tx) => {
      await tx.execute(sql`insert into orders values (2)`);
      await queue.enqueue(task, { n: 2 }, { tx });
    });

    harness.worker().start();
    await until(() => ran.length === 1, 'the committed job');
    // The rolled-back job would have been fetched first (it was enqueued first): give it every chance.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(ran).toEqual([2]);
    const orders = await db.execute(sql`select id from orders`);
    expect(orders.rows).toEqual([{ id: 2 }]);
    const stored = await queue.boss.findJobs('tx-task');
    expect(stored).toHaveLength(1);
  });

  it('dead-letters a handler that always throws after its retry limit, attempts visible', async () => {
    const events: JobEvent[] = [];
    let calls = 0;
    const task = defineTask({
      name: 'always-fails',
      schema: Payload,
      retry: { limit: 2, backoff: { type: 'fixed', delaySeconds: 0 } },
      handler: async () => {
        calls += 1;
        throw Object.assign(new Error(`boom ${calls}`), { code: 'E_BOOM' });
      },
    });
    harness = await openHarness(backend, [task], { observer: { onJob: (event) => events.push(event) } });
    harness.worker({ pollIntervalMs: 100 }).start();
    const { jobId } = await harness.queue.enqueue(task, { n: 7 }, { idempotencyKey: 'k7' });
    await until(() => events.some((event) => event.kind === 'dead-lettered'), 'the dead letter');

    expect(calls).toBe(3);
    expect(events.filter((e) => e.kind === 'failed').map((e) => e.attempt)).toEqual([1, 2, 3]);
    expect(events.filter((e) => e.kind === 'retried').map((e) => e.attempt)).toEqual([1, 2]);
    await until(async () => (await harness!.queue.deadLetters(task)).length === 1, 'the dead letter row');
    const [dead] = await harness.queue.deadLetters(task);
    expect(dead).toMatchObject({
      sourceId: jobId,
      payload: { n: 7 },
      idempotencyKey: 'k7',
      attempts: 3,
      error: { name: 'Error', message: 'boom 3', code: 'E_BOOM' },
    });
  });

  it('aborts a handler past its timeout and retries it', async () => {
    const reasons: unknown[] = [];
    let attempts = 0;
    const task = defineTask({
      name: 'slow',
      schema: Payload,
      timeout: 100,
      retry: { limit: 1, backoff: { type: 'fixed', delaySeconds: 0 } },
      handler: async (_payload, { signal, attempt }) => {
        attempts = attempt;
        if (attempt === 2) return;
        await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
        reasons.push(signal.reason);
      },
    });
    const events: JobEvent[] = [];
    harness = await openHarness(backend, [task], { observer: { onJob: (event) => events.push(event) } });
    harness.worker({ pollIntervalMs: 100 }).start();
    await harness.queue.enqueue(task, { n: 1 });
    await until(() => events.some((event) => event.kind === 'completed'), 'the retry to complete');
    expect(attempts).toBe(2);
    expect(isTasksError(reasons[0], 'RAMPART_TASKS_JOB_TIMEOUT')).toBe(true);
    const failed = events.find((event) => event.kind === 'failed');
    expect(isTasksError(failed?.error, 'RAMPART_TASKS_JOB_TIMEOUT')).toBe(true);
  });

  it('keeps the slot of a handler that ignores its signal until it returns', async () => {
    const log: string[] = [];
    const task = defineTask({
      name: 'stubborn',
      schema: Payload,
      timeout: 100,
      concurrency: 1,
      retry: { limit: 1, backoff: { type: 'fixed', delaySeconds: 0 } },
      handler: async (_payload, { attempt }) => {
        log.push(`start ${attempt}`);
        if (attempt === 1) await new Promise((resolve) => setTimeout(resolve, 600)); // ignores the abort
        log.push(`end ${attempt}`);
      },
    });
    harness = await openHarness(backend, [task]);
    const worker = harness.worker({ pollIntervalMs: 50 });
    worker.start();
    await harness.queue.enqueue(task, { n: 1 });
    let peak = 0;
    await until(() => {
      peak = Math.max(peak, worker.running);
      return log.includes('end 2');
    }, 'the retry');
    // The retry was due at 100 ms but waited for the abandoned run: concurrency bounds real handlers.
    expect(log).toEqual(['start 1', 'end 1', 'start 2', 'end 2']);
    expect(peak).toBe(1);
  });

  it('keeps to the concurrency limit and drains on stop: finishes within grace, aborts past it', async () => {
    let active = 0;
    let peak = 0;
    const finished: number[] = [];
    const aborted: number[] = [];
    const task = defineTask({
      name: 'drain',
      schema: Payload,
      concurrency: 3,
      handler: async ({ n }, { signal }) => {
        active += 1;
        peak = Math.max(peak, active);
        try {
          // n < 100: short jobs that finish within the grace period; n >= 100 wait for the abort.
          await new Promise<void>((resolve, reject) => {
            const timer = n < 100 ? setTimeout(resolve, 30) : undefined;
            signal.addEventListener(
              'abort',
              () => {
                clearTimeout(timer);
                reject(signal.reason);
              },
              { once: true },
            );
          });
          finished.push(n);
        } catch (error) {
          aborted.push(n);
          throw error;
        } finally {
          active -= 1;
        }
      },
    });
    harness = await openHarness(backend, [task]);
    for (let n = 0; n < 9; n += 1) await harness.queue.enqueue(task, { n });
    const worker = harness.worker({ shutdownGraceMs: 200 });
    worker.start();
    await until(() => finished.length === 9, 'nine short jobs');
    expect(peak).toBe(3);

    await harness.queue.enqueue(task, { n: 100 });
    await until(() => worker.running === 1, 'the long job to start');
    await worker.stop();
    expect(aborted).toEqual([100]);
    const [job] = await harness.queue.boss.findJobs('drain', { data: { payload: { n: 100 } } });
    // Failed as a shutdown, so it runs again on the next worker (the attempt counts toward the limit).
    expect(job).toMatchObject({ state: 'retry' });
    expect((job as unknown as { output: { code: string } }).output.code).toBe('RAMPART_TASKS_SHUTDOWN');
  });

  it('fails a fetched job whose payload breaks the schema without calling the handler', async () => {
    let calls = 0;
    const events: JobEvent[] = [];
    const task = defineTask({
      name: 'strict',
      schema: Payload,
      retry: { limit: 0 },
      handler: async () => {
        calls += 1;
      },
    });
    harness = await openHarness(backend, [task], { observer: { onJob: (event) => events.push(event) } });
    harness.worker().start();
    // Written by something that skipped enqueue's validation.
    await harness.queue.boss.send('strict', { payload: { n: 'not a number' } });
    await until(() => events.some((event) => event.kind === 'dead-lettered'), 'the dead letter');
    expect(calls).toBe(0);
    expect(
      isTasksError(events.find((e) => e.kind === 'failed')?.error, 'RAMPART_TASKS_JOB_PAYLOAD_INVALID'),
    ).toBe(true);
  });

  it('holds a delayed job until its delay has passed', async () => {
    const startedAt: number[] = [];
    const task = defineTask({
      name: 'later',
      schema: Payload,
      handler: async () => void startedAt.push(Date.now()),
    });
    harness = await openHarness(backend, [task]);
    harness.worker({ pollIntervalMs: 100 }).start();
    const enqueuedAt = Date.now();
    await harness.queue.enqueue(task, { n: 1 }, { delay: 700 });
    await until(() => startedAt.length === 1, 'the delayed job');
    expect(startedAt[0]! - enqueuedAt).toBeGreaterThanOrEqual(600);
  });

  it('wakes an idle worker through NOTIFY for a job another process enqueued in a transaction', async () => {
    const ran: number[] = [];
    const task = defineTask({
      name: 'notified',
      schema: Payload,
      handler: async ({ n }) => void ran.push(n),
    });
    harness = await openHarness(backend, [task]);
    // A backstop poll far beyond the wait below: only the notification can start this job in time.
    harness.worker({ pollIntervalMs: 600_000 }).start();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const other = createTaskQueue({
      database: harness.database,
      schema: harness.queue.schema,
      tasks: [task],
      poolSize: 2,
      supervise: false,
      runSchedules: false,
    });
    await other.start();
    try {
      await harness.database.db.transaction(async (tx) => {
        await other.enqueue(task, { n: 42 }, { tx });
      });
      await until(() => ran.length === 1, 'the notified job', 15_000);
      expect(ran).toEqual([42]);
      const channel = await harness.database.db.execute(
        sql`select 'pgboss_' || left(encode(sha224(convert_to(${harness.queue.schema}, 'UTF8')), 'hex'), 24) as channel`,
      );
      expect(channel.rows).toEqual([{ channel: notifyChannel(harness.queue.schema) }]);
    } finally {
      await other.stop();
    }
  });

  it('runs a cron schedule', async () => {
    const ran: number[] = [];
    const task = defineTask({
      name: 'every-second',
      schema: Payload,
      schedule: { cron: '* * * * * *', payload: { n: 9 } },
      handler: async ({ n }) => void ran.push(n),
    });
    harness = await openHarness(backend, [task], { scheduleIntervalSeconds: 1 });
    harness.worker({ pollIntervalMs: 100 }).start();
    await until(() => ran.length >= 1, 'a scheduled job', 30_000);
    expect(ran[0]).toBe(9);
  });

  it('refuses at enqueue what JSON or PostgreSQL cannot carry, before any job exists', async () => {
    const loose = defineTask({
      name: 'loose',
      schema: Type.Object({ s: Type.String(), v: Type.Optional(Type.Unknown()) }),
      handler: async () => {},
    });
    const maybe = defineTask({
      name: 'maybe',
      schema: Type.Object({ x: Type.Union([Type.String(), Type.Undefined()]) }),
      handler: async () => {},
    });
    const nothing = defineTask({ name: 'nothing', schema: Type.Void(), handler: async () => {} });
    harness = await openHarness(backend, [loose, maybe, nothing]);
    const cycle: { s: string; v?: unknown } = { s: 'c' };
    cycle.v = cycle;
    const refused = async (run: () => Promise<unknown>) => {
      const error = await run().catch((caught: unknown) => caught);
      expect(isTasksError(error, 'RAMPART_TASKS_PAYLOAD_INVALID')).toBe(true);
      expect((error as { statusCode: number }).statusCode).toBe(400);
    };
    await refused(() => harness!.queue.enqueue(loose, { s: 'a\u0000b' }));
    await refused(() => harness!.queue.enqueue(loose, { s: 'ok', v: ['\ud800'] }));
    await refused(() => harness!.queue.enqueue(loose, { s: 'ok', v: 10n }));
    await refused(() => harness!.queue.enqueue(loose, cycle));
    // The worker would get {} (JSON drops undefined) and refuse it unrun.
    await refused(() => harness!.queue.enqueue(maybe, { x: undefined }));
    await refused(() => harness!.queue.enqueue(nothing, undefined));
    const key = await harness.queue
      .enqueue(loose, { s: 'ok' }, { idempotencyKey: 'k\u0000' })
      .catch((caught: unknown) => caught);
    expect(isTasksError(key, 'RAMPART_TASKS_ENQUEUE_OPTIONS_INVALID')).toBe(true);
    expect(await harness.queue.boss.findJobs('loose')).toEqual([]);

    // What only looks like an escape, a surrogate pair and non-ASCII text are stored as they are.
    const kept = { s: 'caf\u00e9 \ud83d\ude00', v: { text: '\\u0000 and \\\\ud800' } };
    await harness.queue.enqueue(loose, kept);
    const [job] = await harness.queue.boss.findJobs('loose');
    expect(job?.data).toEqual({ payload: kept });
    expect(harness.errors).toEqual([]);
  });

  it('runs a job a fetch claimed as stop began, rather than failing it unrun', async () => {
    let ran = 0;
    const task = defineTask({
      name: 'last-call',
      schema: Payload,
      retry: { limit: 0 },
      handler: async () => {
        ran += 1;
      },
    });
    harness = await openHarness(backend, [task]);
    const worker = harness.worker({ pollIntervalMs: 600_000 });
    worker.start();
    await new Promise((resolve) => setTimeout(resolve, 200));
    // The enqueue wakes the idle loop, which sends its fetch before this continuation runs: stop() begins
    // with that fetch in flight.
    await harness.queue.enqueue(task, { n: 1 });
    await worker.stop();
    expect(ran).toBe(1);
    expect(await harness.queue.deadLetters(task)).toEqual([]);
    const [job] = await harness.queue.boss.findJobs('last-call');
    expect(job).toMatchObject({ state: 'completed' });
  });

  it('stores a failure at once whatever its message holds, and keeps a thrown object its message and code', async () => {
    const events: JobEvent[] = [];
    const nul = defineTask({
      name: 'nul-message',
      schema: Payload,
      retry: { limit: 0 },
      handler: async () => {
        throw new Error('unexpected byte \u0000 in \ud800 input');
      },
    });
    const plain = defineTask({
      name: 'plain-object',
      schema: Payload,
      retry: { limit: 0 },
      handler: async () => {
        throw { code: 'E_PLAIN', message: 'object message' };
      },
    });
    harness = await openHarness(backend, [nul, plain], { observer: { onJob: (e) => events.push(e) } });
    harness.worker({ pollIntervalMs: 100 }).start();
    await harness.queue.enqueue(nul, { n: 1 });
    await harness.queue.enqueue(plain, { n: 2 });
    // Had the failure not been stored, the job would wait for its expiry (61 s) before anything happened.
    await until(() => events.filter((e) => e.kind === 'dead-lettered').length === 2, 'two dead letters');
    const [dead] = await harness.queue.deadLetters(nul);
    expect(dead?.error).toEqual({ name: 'Error', message: 'unexpected byte \ufffd in \ufffd input' });
    const [object] = await harness.queue.deadLetters(plain);
    expect(object?.error).toEqual({ name: 'Error', message: 'object message', code: 'E_PLAIN' });
    expect(harness.errors).toEqual([]);
  });

  it('refuses a schedule pg-boss cannot read as a bad definition at start, not a database outage', async () => {
    for (const schedule of [
      { cron: '61 * * * *', payload: { n: 0 } },
      { cron: '0 3 * * *', payload: { n: 0 }, tz: 'Mars/Base' },
    ]) {
      const task = defineTask({ name: 'bad-schedule', schema: Payload, schedule, handler: async () => {} });
      const error = await openHarness(backend, [task]).catch((caught: unknown) => caught);
      expect(isTasksError(error, 'RAMPART_TASKS_TASK_INVALID')).toBe(true);
      expect((error as Error).message).toContain('bad-schedule');
    }
  });

  it('stops without waiting out the grace period for a handler that ignored its timeout', async () => {
    const events: JobEvent[] = [];
    let finish: () => void = () => {};
    const task = defineTask({
      name: 'deaf',
      schema: Payload,
      timeout: 100,
      retry: { limit: 0 },
      // Ignores its signal: keeps its slot long after the attempt was failed as timed out.
      handler: () => new Promise<void>((resolve) => (finish = resolve)),
    });
    harness = await openHarness(backend, [task], { observer: { onJob: (event) => events.push(event) } });
    const worker = harness.worker({ shutdownGraceMs: 60_000 });
    worker.start();
    await harness.queue.enqueue(task, { n: 1 });
    await until(() => events.some((event) => event.kind === 'failed'), 'the timeout');
    expect(worker.running).toBe(1);
    try {
      const outcome = await Promise.race([
        worker.stop().then(() => 'stopped'),
        new Promise((resolve) => setTimeout(() => resolve('still waiting'), 5_000)),
      ]);
      expect(outcome).toBe('stopped');
    } finally {
      finish();
    }
  });

  it('starts on a database that has its queues without writing them, and updates one whose definition changed', async () => {
    const define = (limit: number) =>
      defineTask({
        name: 'kept',
        schema: Payload,
        retry: { limit, backoff: { type: 'fixed', delaySeconds: 1 } },
        handler: async () => {},
      });
    harness = await openHarness(backend, [define(2)]);
    const read = async () =>
      Object.fromEntries(
        (await harness!.queue.boss.getQueues(['kept', 'kept.dead'])).map((queue) => [queue.name, queue]),
      );
    const first = await read();
    expect(first.kept).toMatchObject({ retryLimit: 2, deadLetter: 'kept.dead' });
    expect(first['kept.dead']).toMatchObject({ retryLimit: 0 });
    // job_now() moves on between the two starts, so any write would show in updatedOn.
    await new Promise((resolve) => setTimeout(resolve, 20));
    const restart = (limit: number) =>
      createTaskQueue({
        database: harness!.database,
        schema: harness!.queue.schema,
        tasks: [define(limit)],
        poolSize: 2,
        supervise: false,
        runSchedules: false,
      });
    const same = restart(2);
    await same.start();
    await same.stop();
    const second = await read();
    expect(second.kept?.updatedOn).toEqual(first.kept?.updatedOn);
    expect(second['kept.dead']?.updatedOn).toEqual(first['kept.dead']?.updatedOn);
    const changed = restart(5);
    await changed.start();
    await changed.stop();
    const third = await read();
    expect(third.kept).toMatchObject({ retryLimit: 5, deadLetter: 'kept.dead' });
    expect(third.kept?.updatedOn).not.toEqual(first.kept?.updatedOn);
  });

  it('registers cron schedules for the tasks that have one', async () => {
    const task = defineTask({
      name: 'nightly',
      schema: Payload,
      schedule: { cron: '0 3 * * *', payload: { n: 0 }, tz: 'Europe/Paris' },
      handler: async () => {},
    });
    harness = await openHarness(backend, [task]);
    const schedules = await harness.queue.boss.getSchedules('nightly');
    expect(schedules).toEqual([
      expect.objectContaining({
        name: 'nightly',
        cron: '0 3 * * *',
        timezone: 'Europe/Paris',
        data: { payload: { n: 0 } },
      }),
    ]);
  });
});

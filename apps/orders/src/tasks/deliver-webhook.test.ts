import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { auditLog, uuidv7 } from '@rampart/db';
import { createTestDatabase, type TestDatabase } from '@rampart/db/testing';
import { createWebhookSigner } from '@rampart/security';
import { createTaskQueue, createWorker, type JobEvent, type TaskQueue } from '@rampart/tasks';
import { eq } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../database.ts';
import { createInventory } from '../inventory.ts';
import { orders } from '../orders/schema.ts';
import { createTasks } from '../tasks.ts';
import { createWebhookSender, type WebhookEvent } from '../webhooks.ts';
import { createDeliverWebhookTask } from './deliver-webhook.ts';

const SECRET = 'whsec-test-0123456789abcdef0123456789abcdef';

async function until(predicate: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A webhook receiver on 127.0.0.1 that verifies every delivery as a real receiver would. */
async function receiver(answer: () => number) {
  const verifier = createWebhookSigner({ secrets: [SECRET] });
  const received: Array<{ event: WebhookEvent; idempotencyKey: string | undefined; verified: boolean }> = [];
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', async () => {
      const signature = request.headers['webhook-signature'];
      const verified = await verifier
        .verify(body, typeof signature === 'string' ? signature : undefined)
        .then(
          () => true,
          () => false,
        );
      received.push({
        event: JSON.parse(body) as WebhookEvent,
        idempotencyKey: request.headers['idempotency-key'] as string | undefined,
        verified,
      });
      response.writeHead(answer()).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/orders`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('task deliver-webhook', () => {
  let database: TestDatabase;
  let queue: TaskQueue | undefined;
  const cleanups: Array<() => Promise<unknown>> = [];
  beforeEach(async () => {
    database = await createTestDatabase({ migrations: MIGRATIONS });
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await queue?.stop();
    queue = undefined;
    await database.close();
  });

  async function run(url: string, events: JobEvent[]) {
    const webhooks = createWebhookSender({ url, secrets: [SECRET], timeoutMs: 2_000 });
    const task = createDeliverWebhookTask(database, webhooks);
    queue = createTaskQueue({
      database,
      tasks: [task],
      schema: database.schemaName ?? 'rampart_tasks',
      runSchedules: false,
      observer: { onJob: (event) => events.push(event) },
    });
    await queue.start();
    const worker = createWorker({ queue, pollIntervalMs: 100 });
    worker.start();
    cleanups.push(
      () => webhooks.close(),
      () => worker.stop(),
    );
    return { task, queue };
  }

  async function anOrder() {
    const [order] = await database.db
      .insert(orders)
      // The webhook never reads the email: any sealed-looking value will do here.
      .values({ customerEmail: 'enc:v1:unread', sku: 'sku-1', quantity: 2, reservationId: uuidv7() })
      .returning();
    return order!;
  }

  it('is registered with the worker', () => {
    const inventory = createInventory({
      url: 'http://127.0.0.1:9',
      apiKey: undefined,
      attemptTimeoutMs: 100,
      deadlineMs: 300,
    });
    const names = createTasks(database, { inventory, webhooks: undefined }).map((task) => task.name);
    expect(names).toContain('deliver-webhook');
  });

  it('delivers a signed event, keyed by the job, without personal data, and audits it', async () => {
    const hooks = await receiver(() => 204);
    cleanups.push(hooks.close);
    const events: JobEvent[] = [];
    const { task, queue } = await run(hooks.url, events);
    const order = await anOrder();
    const { jobId } = await queue.enqueue(
      task,
      { orderId: order.id },
      { idempotencyKey: `order-${order.id}` },
    );
    await until(
      () => events.some((event) => event.jobId === jobId && event.kind === 'completed'),
      'delivery',
    );

    expect(hooks.received).toHaveLength(1);
    const [delivery] = hooks.received;
    expect(delivery).toMatchObject({ verified: true, idempotencyKey: `order-${order.id}` });
    expect(delivery!.event).toEqual({
      id: `order-${order.id}`,
      type: 'order.created',
      createdAt: order.createdAt.toISOString(),
      data: { orderId: order.id, sku: 'sku-1', quantity: 2 },
    });
    const trail = await database.db
      .select()
      .from(auditLog)
      .where(eq(auditLog.action, 'order.webhook-delivered'));
    expect(trail.map((row) => row.resourceId)).toEqual([order.id]);
  });

  it('retries a receiver that fails, with the same event id every time', { timeout: 120_000 }, async () => {
    let calls = 0;
    const hooks = await receiver(() => (++calls === 1 ? 503 : 200));
    cleanups.push(hooks.close);
    const events: JobEvent[] = [];
    const { task, queue } = await run(hooks.url, events);
    const order = await anOrder();
    const { jobId } = await queue.enqueue(
      task,
      { orderId: order.id },
      { idempotencyKey: `order-${order.id}` },
    );
    await until(
      () => events.some((event) => event.jobId === jobId && event.kind === 'completed'),
      'the retried delivery',
      30_000,
    );
    expect(events.filter((event) => event.jobId === jobId).map((event) => event.kind)).toEqual(
      expect.arrayContaining(['failed', 'retried', 'completed']),
    );
    expect(hooks.received.map((delivery) => delivery.event.id)).toEqual([
      `order-${order.id}`,
      `order-${order.id}`,
    ]);
  });

  it('completes without a call when no receiver is configured', async () => {
    const task = createDeliverWebhookTask(database, undefined);
    const order = await anOrder();
    const context = {
      task: 'deliver-webhook',
      jobId: 'j',
      idempotencyKey: 'k',
      attempt: 1,
      signal: new AbortController().signal,
    };
    await expect(task.handler({ orderId: order.id }, context)).resolves.toEqual({
      delivered: false,
      reason: 'WEBHOOK_URL is unset',
    });
  });
});

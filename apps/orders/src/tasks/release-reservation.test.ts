import { auditLog, uuidv7 } from '@rampart/db';
import { createTestDatabase, type TestDatabase } from '@rampart/db/testing';
import { createTaskQueue, createWorker, type JobEvent } from '@rampart/tasks';
import { eq } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type RunningInventory, startInventory } from '../../test/support/inventory.ts';
import { MIGRATIONS } from '../database.ts';
import { createInventory, type Inventory } from '../inventory.ts';
import { createTasks } from '../tasks.ts';
import { createReleaseReservationTask } from './release-reservation.ts';

async function until(predicate: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('task release-reservation', () => {
  let database: TestDatabase;
  let inventoryService: RunningInventory;
  let inventory: Inventory;
  beforeEach(async () => {
    database = await createTestDatabase({ migrations: MIGRATIONS });
    inventoryService = await startInventory();
    inventory = createInventory({
      url: inventoryService.url,
      apiKey: inventoryService.apiKey,
      attemptTimeoutMs: 1_000,
      deadlineMs: 3_000,
    });
  });
  afterEach(async () => {
    await inventory.close();
    await inventoryService.close();
    await database.close();
  });

  it('is registered with the worker', () => {
    const names = createTasks(database, { inventory, webhooks: undefined }).map((task) => task.name);
    expect(names).toContain('release-reservation');
  });

  it('gives the stock back, retrying while inventory is down, and audits the release', {
    timeout: 120_000,
  }, async () => {
    await inventoryService.stock('widget', 5);
    const orderId = uuidv7();
    const { reservationId } = await inventory.reserve({ orderId, sku: 'widget', quantity: 2 });
    expect(await inventoryService.available('widget')).toBe(3);

    const task = createReleaseReservationTask(database, inventory);
    const events: JobEvent[] = [];
    const queue = createTaskQueue({
      database,
      tasks: [task],
      schema: database.schemaName ?? 'rampart_tasks',
      runSchedules: false,
      observer: { onJob: (event) => events.push(event) },
    });
    await queue.start();
    const worker = createWorker({ queue, pollIntervalMs: 100 });
    try {
      await inventoryService.stop();
      worker.start();
      const { jobId } = await queue.enqueue(
        task,
        { orderId, reservationId },
        { idempotencyKey: `release-${orderId}` },
      );
      await until(() => events.some((event) => event.jobId === jobId && event.kind === 'retried'), 'a retry');
      await inventoryService.start();
      await until(
        () => events.some((event) => event.jobId === jobId && event.kind === 'completed'),
        'the release',
      );
      expect(await inventoryService.available('widget')).toBe(5);
      // Released twice (a redelivery): inventory has nothing left to give back, and says so harmlessly.
      await expect(inventory.release(reservationId)).resolves.toBeUndefined();
      expect(await inventoryService.available('widget')).toBe(5);
      const trail = await database.db
        .select()
        .from(auditLog)
        .where(eq(auditLog.action, 'orders.reservation-released'));
      expect(trail.map((row) => row.resourceId)).toEqual([orderId]);
    } finally {
      await worker.stop();
      await queue.stop();
    }
  });
});

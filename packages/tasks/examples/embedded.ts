// Runnable: node examples/embedded.ts (from packages/tasks, after building @rampart/db).
// An order and its webhook job are written in one transaction on embedded PGlite; a worker in the same
// process sends the webhook; the job of a rolled-back order never exists.
import { createDb } from '@rampart/db';
import { sql } from 'drizzle-orm';
import Type from 'typebox';
import { createTaskQueue, createWorker, defineTask } from '../src/index.ts';

const sent: string[] = [];
const notifyOrder = defineTask({
  name: 'notify-order',
  schema: Type.Object({ orderId: Type.Integer() }),
  retry: { limit: 3, backoff: { type: 'exponential', delaySeconds: 1 } },
  timeout: 5_000,
  async handler({ orderId }, { idempotencyKey, attempt }) {
    // A real handler would POST with `Idempotency-Key: ${idempotencyKey}` and pass `signal` to fetch.
    sent.push(`order ${orderId} (key ${idempotencyKey}, attempt ${attempt})`);
  },
});

const database = await createDb(); // in-memory PGlite; { dataDir } to persist, { url } for PostgreSQL
await database.db.execute(sql`create table orders (id int primary key)`);
const queue = createTaskQueue({ database, tasks: [notifyOrder] });
await queue.start();
const worker = createWorker({ queue });
worker.start();

for (const [orderId, commit] of [
  [1, true],
  [2, false],
] as const) {
  await database.db
    .transaction(async (tx) => {
      await tx.execute(sql`insert into orders values (${orderId})`);
      await queue.enqueue(notifyOrder, { orderId }, { tx, idempotencyKey: `order-${orderId}` });
      if (!commit) throw new Error('payment declined');
    })
    .catch(() => {});
}

while (sent.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
await worker.stop();
await queue.stop();
await database.close();
process.stdout.write(`${sent.join('\n')}\n`);

import { audit, type RampartDb } from '@rampart/db';
import { defineTask } from '@rampart/tasks';
import { eq } from 'drizzle-orm';
import Type, { type Static } from 'typebox';
import { orders } from '../orders/schema.ts';
import type { WebhookSender } from '../webhooks.ts';

/** The payload of a `deliver-webhook` job: only the order's id (no personal data in the queue). */
export const DeliverWebhookPayload = Type.Object(
  {
    orderId: Type.String({
      pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$',
      description: 'The order whose creation is announced.',
    }),
  },
  { additionalProperties: false },
);
export type DeliverWebhookPayload = Static<typeof DeliverWebhookPayload>;

/**
 * Announces a new order to WEBHOOK_URL, signed (`webhook-signature`), enqueued in the order's own
 * transaction so there is a delivery exactly when there is an order. Delivery is at least once: the event
 * id is the job's idempotency key, the same on every attempt, and receivers deduplicate on it. A receiver
 * that stays down exhausts the retries and the job waits in `deliver-webhook.dead` with its attempts.
 */
export function createDeliverWebhookTask(database: RampartDb, webhooks: WebhookSender | undefined) {
  return defineTask({
    name: 'deliver-webhook',
    schema: DeliverWebhookPayload,
    // Retries after the first attempt (then the `deliver-webhook.dead` queue): 2 s, 4 s, ... up to 10 min.
    retry: { limit: 8, backoff: { type: 'exponential', delaySeconds: 2, maxDelaySeconds: 600 } },
    timeout: 15_000,
    concurrency: 10,
    async handler({ orderId }, { signal, idempotencyKey, attempt }) {
      if (!webhooks) return { delivered: false, reason: 'WEBHOOK_URL is unset' };
      const [order] = await database.db
        .select({ id: orders.id, sku: orders.sku, quantity: orders.quantity, createdAt: orders.createdAt })
        .from(orders)
        .where(eq(orders.id, orderId));
      if (!order) return { delivered: false, reason: 'the order was deleted before delivery' };
      await webhooks.send(
        {
          id: idempotencyKey,
          type: 'order.created',
          createdAt: order.createdAt.toISOString(),
          data: { orderId: order.id, sku: order.sku, quantity: order.quantity },
        },
        signal,
      );
      await audit(database.db, {
        actor: 'task:deliver-webhook',
        action: 'order.webhook-delivered',
        resource: 'order',
        resourceId: order.id,
        outcome: 'success',
        details: { attempt, event: idempotencyKey },
      });
      return { delivered: true, attempt };
    },
  });
}

import { audit, type RampartDb } from '@rampart/db';
import { defineTask } from '@rampart/tasks';
import Type, { type Static } from 'typebox';
import type { Inventory } from '../inventory.ts';

const UUID = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$';

/** The payload of a `release-reservation` job: which order went, and the stock inventory holds for it. */
export const ReleaseReservationPayload = Type.Object(
  {
    orderId: Type.String({ pattern: UUID, description: 'The order that was deleted.' }),
    reservationId: Type.String({ pattern: UUID, description: "Inventory's reservation for it." }),
  },
  { additionalProperties: false },
);
export type ReleaseReservationPayload = Static<typeof ReleaseReservationPayload>;

/**
 * Gives a deleted order's stock back to inventory. Enqueued in the transaction that deletes the order, so
 * the release happens exactly when the order is gone, however long inventory is down (retries for a day).
 * Releasing twice is harmless: inventory answers 404 for a reservation already released.
 */
export function createReleaseReservationTask(database: RampartDb, inventory: Inventory) {
  return defineTask({
    name: 'release-reservation',
    schema: ReleaseReservationPayload,
    // 2 s, 4 s, 8 s ... capped at 15 min: about a day of retries before the dead letter queue.
    retry: { limit: 100, backoff: { type: 'exponential', delaySeconds: 2, maxDelaySeconds: 900 } },
    timeout: 15_000,
    concurrency: 5,
    async handler({ orderId, reservationId }, { signal, attempt }) {
      await inventory.release(reservationId, signal);
      await audit(database.db, {
        actor: 'task:release-reservation',
        action: 'orders.reservation-released',
        resource: 'orders',
        resourceId: orderId,
        outcome: 'success',
        details: { attempt, reservationId },
      });
      return { released: reservationId };
    },
  });
}

import { type RampartDb, verifyAuditChain } from '@rampart/db';
import { defineTask } from '@rampart/tasks';
import Type from 'typebox';
import type { Inventory } from './inventory.ts';
import { createDeliverWebhookTask } from './tasks/deliver-webhook.ts';
import { createReleaseReservationTask } from './tasks/release-reservation.ts';
import type { WebhookSender } from './webhooks.ts';

/** What this service's tasks call out to; built from the environment by app.ts and worker.ts. */
export interface TaskClients {
  inventory: Inventory;
  /** Unset when WEBHOOK_URL is: order events are then not sent. */
  webhooks: WebhookSender | undefined;
}

/** The audit trail was altered or cut: a job fails with this, and alerting follows the task metrics. */
export class AuditChainBrokenError extends Error {
  readonly code = 'RAMPART_AUDIT_CHAIN_BROKEN';
  constructor(detail: string) {
    super(`the audit trail does not verify: ${detail}`);
    this.name = 'AuditChainBrokenError';
  }
}

/**
 * Every task this service runs, given its database. The worker process (src/worker.ts) runs them; new
 * tasks are added to this list.
 */
export function createTasks(database: RampartDb, clients: TaskClients) {
  // Hourly, re-walk the hash chain of the audit trail: a row edited or deleted behind the trigger's back
  // fails the job (and, after its retries, lands in the dead letter queue with the first broken row).
  const verifyAudit = defineTask({
    name: 'audit.verify',
    schema: Type.Object({}, { additionalProperties: false }),
    schedule: { cron: '17 * * * *', payload: {} },
    retry: { limit: 1 },
    timeout: 10 * 60_000,
    concurrency: 1,
    handler: async () => {
      const result = await verifyAuditChain(database.db);
      if (!result.ok) {
        throw new AuditChainBrokenError(
          `${result.reason} at row ${result.brokenAt.seq ?? result.brokenAt.id ?? '?'}`,
        );
      }
      return { rows: result.count };
    },
  });
  return [
    verifyAudit,
    createDeliverWebhookTask(database, clients.webhooks),
    createReleaseReservationTask(database, clients.inventory),
  ];
}

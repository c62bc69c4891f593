import { type RampartDb, verifyAuditChain } from '@rampart/db';
import { defineTask } from '@rampart/tasks';
import Type from 'typebox';

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
export function createTasks(database: RampartDb) {
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
  return [verifyAudit];
}

// The hardening conformance kit: every protected route, rate limit, headers, metrics, tracing, bad input,
// schema sweep, canary secret, audit and readiness, checked against this service's real app.
import { auditLog } from '@rampart/db';
import { createTestDatabase } from '@rampart/db/testing';
import { startTracing, type Tracing } from '@rampart/observability';
import { describeHardening } from '@rampart/testing';
import { afterAll, beforeAll } from 'vitest';
import { buildApp, MIGRATIONS } from '../src/app.ts';
import { parseEnv } from '../src/env.ts';

let tracing: Tracing;
beforeAll(async () => {
  tracing = await startTracing({ service: 'inventory', exporter: 'memory' });
});
afterAll(() => tracing.shutdown());

describeHardening(async ({ logStream, canary }) => {
  const database = await createTestDatabase({ migrations: MIGRATIONS });
  let shuttingDown = false;
  const app = await buildApp({
    env: parseEnv({ LOAD_SHEDDING: 'off', LOG_LEVEL: 'info', API_KEY_PEPPER: canary }),
    database,
    logDestination: logStream,
    isShuttingDown: () => shuttingDown,
  });
  const { key } = await app.apiKeys.create({
    name: 'hardening',
    scopes: [
      'items:read',
      'items:write',
      'stock:read',
      'stock:write',
      'reservations:read',
      'reservations:write',
    ],
  });
  return {
    app,
    apiKey: key,
    spans: () => tracing.memoryExporter?.getFinishedSpans() ?? [],
    auditRecords: () => database.db.select().from(auditLog),
    beginShutdown: () => {
      shuttingDown = true;
    },
    close: () => database.close(),
  };
});

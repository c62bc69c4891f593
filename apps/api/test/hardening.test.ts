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
  tracing = await startTracing({ service: 'api', exporter: 'memory' });
});
afterAll(() => tracing.shutdown());

describeHardening(async ({ logStream, canary }) => {
  const database = await createTestDatabase({ migrations: MIGRATIONS });
  let shuttingDown = false;
  const app = await buildApp({
    env: parseEnv({ LOG_LEVEL: 'info', API_KEY_PEPPER: canary, LOAD_SHEDDING: 'off' }),
    database,
    logDestination: logStream,
    isShuttingDown: () => shuttingDown,
  });
  const { key } = await app.apiKeys.create({ name: 'hardening', scopes: ['items:read', 'items:write'] });
  // A key without the write scopes: the kit expects 403 from every route it lacks the scope of.
  const readOnly = await app.apiKeys.create({ name: 'hardening-read-only', scopes: ['items:read'] });
  return {
    app,
    apiKey: key,
    limitedApiKey: { key: readOnly.key, scopes: ['items:read'] },
    spans: () => tracing.memoryExporter?.getFinishedSpans() ?? [],
    auditRecords: () => database.db.select().from(auditLog),
    beginShutdown: () => {
      shuttingDown = true;
    },
    close: () => database.close(),
  };
});

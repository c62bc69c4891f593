// The hardening conformance kit: every protected route, rate limit, headers, metrics, tracing, bad input,
// schema sweep, canary secret, audit and readiness, checked against this service's real app.
import { randomUUID } from 'node:crypto';
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
  // A key without the write scopes: the kit expects 403 from every route it lacks the scope of.
  const readOnly = await app.apiKeys.create({ name: 'hardening-read-only', scopes: ['items:read'] });
  // A reservation takes stock that exists: a SKU in stock, so the audit check reaches a created and
  // deleted reservation.
  const sku = `hardening-${randomUUID()}`;
  const stocked = await app.inject({
    method: 'POST',
    url: '/stock',
    headers: { authorization: `Bearer ${key}` },
    payload: { sku, available: 1_000 },
  });
  if (stocked.statusCode !== 201) throw new Error(`stocking ${sku}: ${stocked.statusCode} ${stocked.body}`);
  return {
    app,
    apiKey: key,
    limitedApiKey: { key: readOnly.key, scopes: ['items:read'] },
    writeSamples: {
      'POST /reservations': { body: { orderId: randomUUID(), sku, quantity: 1 } },
    },
    spans: () => tracing.memoryExporter?.getFinishedSpans() ?? [],
    auditRecords: () => database.db.select().from(auditLog),
    beginShutdown: () => {
      shuttingDown = true;
    },
    close: () => database.close(),
  };
});

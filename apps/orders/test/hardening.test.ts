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
import { type RunningInventory, startInventory } from './support/inventory.ts';

let tracing: Tracing;
// Orders hold stock in a real inventory: the kit's generated orders name SKUs it has never heard of (422)
// or ask for more than it has (409), both client errors, as they should be.
let inventory: RunningInventory;
beforeAll(async () => {
  tracing = await startTracing({ service: 'orders', exporter: 'memory' });
  inventory = await startInventory();
});
afterAll(async () => {
  await inventory.close();
  await tracing.shutdown();
});

describeHardening(async ({ logStream, canary }) => {
  const database = await createTestDatabase({ migrations: MIGRATIONS });
  let shuttingDown = false;
  const app = await buildApp({
    env: parseEnv({
      LOAD_SHEDDING: 'off',
      LOG_LEVEL: 'info',
      API_KEY_PEPPER: canary,
      INVENTORY_URL: inventory.url,
      INVENTORY_API_KEY: inventory.apiKey,
      INVENTORY_TIMEOUT_MS: '5000',
    }),
    database,
    logDestination: logStream,
    isShuttingDown: () => shuttingDown,
  });
  const { key } = await app.apiKeys.create({
    name: 'hardening',
    scopes: ['items:read', 'items:write', 'orders:read', 'orders:write'],
  });
  // A key without the write scopes: the kit expects 403 from every route it lacks the scope of.
  const readOnly = await app.apiKeys.create({ name: 'hardening-read-only', scopes: ['items:read'] });
  // The kit's generated orders name SKUs inventory has never heard of: one it has, in stock, so the audit
  // check reaches a created, patched and deleted order.
  const sku = `hardening-${randomUUID()}`;
  await inventory.stock(sku, 1_000);
  const customerEmail = 'hardening@example.com';
  return {
    app,
    apiKey: key,
    limitedApiKey: { key: readOnly.key, scopes: ['items:read'] },
    writeSamples: {
      'POST /orders': { body: { customerEmail, sku, quantity: 1 } },
      'PATCH /orders/:id': { body: { customerEmail } },
    },
    spans: () => tracing.memoryExporter?.getFinishedSpans() ?? [],
    auditRecords: () => database.db.select().from(auditLog),
    beginShutdown: () => {
      shuttingDown = true;
    },
    close: () => database.close(),
  };
});

export { type FaultProxy, startFaultProxy } from './testing/fault-proxy.ts';
export { requireService, testDatabaseUrl } from './testing/service-gate.ts';
export { createTestDatabase, type TestDatabase, type TestDatabaseOptions } from './testing/test-database.ts';

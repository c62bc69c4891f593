export { requireService, testDatabaseUrl } from './testing/service-gate.ts';
export { createTestDatabase, type TestDatabase, type TestDatabaseOptions } from './testing/test-database.ts';

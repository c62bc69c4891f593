import { describe, expect, it } from 'vitest';

describe('public surface', () => {
  it('pins the export names of each entry', async () => {
    expect(Object.keys(await import('./index.ts')).sort()).toEqual([
      'AUDIT_GENESIS_HASH',
      'DB_DEFAULTS',
      'DB_ERRORS',
      'DbError',
      'MIGRATE_DEFAULTS',
      'TRANSACTION_DEFAULTS',
      'audit',
      'auditLog',
      'createDb',
      'isDbError',
      'migrate',
      'migrationStatus',
      'migrationsFolder',
      'migrationsTable',
      'operationOf',
      'paginate',
      'prepared',
      'sqlState',
      'transaction',
      'uuidv7',
      'uuidv7PrimaryKey',
      'uuidv7Time',
      'verifyAuditChain',
    ]);
    expect(Object.keys(await import('./testing.ts')).sort()).toEqual([
      'createTestDatabase',
      'requireService',
      'startFaultProxy',
      'testDatabaseUrl',
    ]);
    expect(Object.keys(await import('./import-hook.ts')).sort()).toEqual([
      'registerDrizzleImportHook',
      'resolveDrizzleRelative',
    ]);
  });
});

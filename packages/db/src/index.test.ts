import { describe, expect, it } from 'vitest';

describe('public surface', () => {
  it('pins the export names of each entry', async () => {
    expect(Object.keys(await import('./index.ts')).sort()).toEqual([
      'DB_DEFAULTS',
      'DB_ERRORS',
      'DbError',
      'MIGRATE_DEFAULTS',
      'createDb',
      'isDbError',
      'migrate',
      'migrationStatus',
      'migrationsFolder',
      'migrationsTable',
      'operationOf',
      'uuidv7',
      'uuidv7PrimaryKey',
      'uuidv7Time',
    ]);
    expect(Object.keys(await import('./testing.ts')).sort()).toEqual([
      'createTestDatabase',
      'requireService',
      'testDatabaseUrl',
    ]);
  });
});

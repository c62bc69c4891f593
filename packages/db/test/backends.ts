import { testDatabaseUrl } from '../src/testing/service-gate.ts';

/** The backends every shared suite runs on: PGlite always, PostgreSQL when TEST_DATABASE_URL is set. */
export const postgresUrl = testDatabaseUrl();

export const backends = [
  { backend: 'pglite' as const, url: undefined, skip: false },
  { backend: 'postgresql' as const, url: postgresUrl, skip: postgresUrl === undefined },
];

import { DbError } from '../errors.ts';

const announced = new Set<string>();

/**
 * The service rule every Rampart test follows: returns the variable's value when set; when unset, prints
 * one `SKIPPED SERVICE: requires <service> (<variable> unset)` line and returns undefined so the caller
 * skips, except under `CI=true`, where it throws RAMPART_DB_SERVICE_MISSING (CI never skips silently).
 *
 * @example
 * const url = requireService('PostgreSQL', 'TEST_DATABASE_URL');
 * describe.skipIf(url === undefined)('on PostgreSQL', () => { ... });
 */
export function requireService(
  service: string,
  variable: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): string | undefined {
  const value = env[variable];
  if (value !== undefined && value !== '') return value;
  if (env.CI === 'true') {
    throw new DbError('RAMPART_DB_SERVICE_MISSING', {
      detail: `requires ${service} but ${variable} is unset and CI=true`,
    });
  }
  const line = `SKIPPED SERVICE: requires ${service} (${variable} unset)`;
  if (!announced.has(line)) {
    announced.add(line);
    console.warn(line);
  }
  return undefined;
}

/** {@link requireService} for PostgreSQL: the TEST_DATABASE_URL gate. */
export function testDatabaseUrl(
  env: Readonly<Record<string, string | undefined>> = process.env,
): string | undefined {
  return requireService('PostgreSQL', 'TEST_DATABASE_URL', env);
}

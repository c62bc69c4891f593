import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * vitest's global setup: builds the migrated PGlite snapshot once, before any test file starts (on a cold
 * cache every file would otherwise run initdb and every migration at the same time); each test still opens
 * its own database from it. It runs as a plain Node process: the snapshot code needs Node's own module
 * resolution, which vitest's module runner does not offer.
 */
export default function setup(): void {
  execFileSync(process.execPath, [fileURLToPath(import.meta.url)], { stdio: 'inherit' });
}

if (import.meta.main) {
  const { createTestDatabase } = await import('@rampart/db/testing');
  const { MIGRATIONS } = await import('../src/database.ts');
  const database = await createTestDatabase({ migrations: MIGRATIONS, backend: 'pglite' });
  await database.close();
}

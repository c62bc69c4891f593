import { fileURLToPath } from 'node:url';

/** Absolute path of this package's drizzle-kit migrations; apply with @rampart/db's `migrate`. */
export const migrationsFolder: string = fileURLToPath(new URL('../migrations', import.meta.url));

/** The tracking table for this package's migrations, apart from every other package's. */
export const migrationsTable = '__rampart_security_migrations';

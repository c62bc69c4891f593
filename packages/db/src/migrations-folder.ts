import { fileURLToPath } from 'node:url';

/** Absolute path of this package's drizzle-kit migrations (the audit_log table). Same from src/ and dist/. */
export const migrationsFolder = fileURLToPath(new URL('../migrations', import.meta.url));

/** The tracking table this package's folder uses, so it never mixes with another package's. */
export const migrationsTable = '__rampart_db_migrations';

import { fileURLToPath } from 'node:url';

/** This service's drizzle-kit migrations (generated from src/schema.ts with `pnpm db:generate`). */
export const appMigrationsFolder = fileURLToPath(new URL('../migrations', import.meta.url));
export const appMigrationsTable = '__app_migrations';

import { resolve } from 'node:path';
import {
  createDb,
  migrationsFolder as dbMigrationsFolder,
  migrationsTable as dbMigrationsTable,
  migrate,
  type QueryObserver,
  type RampartDb,
} from '@rampart/db';
import {
  migrationsFolder as securityMigrationsFolder,
  migrationsTable as securityMigrationsTable,
} from '@rampart/security';
import type { Env } from './env.ts';
import { appMigrationsFolder, appMigrationsTable } from './migrations-folder.ts';

/** Every migrations folder this service needs, in order: @rampart/db's, @rampart/security's, its own. */
export const MIGRATIONS = [
  { migrationsFolder: dbMigrationsFolder, migrationsTable: dbMigrationsTable },
  { migrationsFolder: securityMigrationsFolder, migrationsTable: securityMigrationsTable },
  { migrationsFolder: appMigrationsFolder, migrationsTable: appMigrationsTable },
];

export async function migrateAll(database: RampartDb): Promise<void> {
  for (const folder of MIGRATIONS) await migrate(database, folder);
}

/**
 * Opens the database the environment names — PostgreSQL at DATABASE_URL, else PGlite in DATA_DIR (or in
 * memory) — and brings its schema up to date. Shared by the server, the worker and the keys CLI.
 */
export async function openDatabase(env: Env, observer?: QueryObserver): Promise<RampartDb> {
  const common = observer ? { observer } : {};
  let database: RampartDb;
  if (env.DATABASE_URL) {
    database = await createDb({ url: env.DATABASE_URL, poolSize: env.DB_POOL_SIZE, ...common });
  } else if (env.DATA_DIR === 'memory') {
    database = await createDb(common);
  } else {
    database = await createDb({ dataDir: resolve(env.DATA_DIR), ...common });
  }
  try {
    await migrateAll(database);
  } catch (error) {
    await database.close();
    throw error;
  }
  return database;
}

export {
  AUDIT_GENESIS_HASH,
  type AuditChainResult,
  type AuditEntry,
  type AuditOutcome,
  type AuditRecord,
  audit,
  type VerifyAuditChainOptions,
  verifyAuditChain,
} from './audit.ts';
export {
  createDb,
  type Database,
  type DbSystem,
  type Queryable,
  type QueryResultHKT,
  type QueryRows,
  type RampartDb,
  type Transaction,
} from './create-db.ts';
export { DB_ERRORS, DbError, type DbErrorCode, isDbError } from './errors.ts';
export {
  MIGRATE_DEFAULTS,
  type MigrateOptions,
  type MigrationStatus,
  migrate,
  migrationStatus,
} from './migrate.ts';
export { migrationsFolder, migrationsTable } from './migrations-folder.ts';
export { DB_DEFAULTS, type DbConfig, type PgliteConfig } from './options.ts';
export { type Page, type PageOptions, paginate } from './paginate.ts';
export { type Preparable, type PreparedStatement, prepared } from './prepared.ts';
export { operationOf, type QueryEvent, type QueryObserver } from './query-observer.ts';
export { auditLog } from './schema.ts';
export { sqlState, TRANSACTION_DEFAULTS, type TransactionOptions, transaction } from './transaction.ts';
export { uuidv7, uuidv7PrimaryKey, uuidv7Time } from './uuidv7.ts';

// node examples/quickstart.ts [dataDir]: the README's example, runnable. Opens PGlite in a data directory
// (in memory without one), applies the audit_log migrations, writes an item with its audit record in one
// transaction, pages through items and verifies the audit chain.
import { eq, sql } from 'drizzle-orm';
import { pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import {
  audit,
  createDb,
  migrate,
  migrationsFolder,
  migrationsTable,
  paginate,
  uuidv7PrimaryKey,
  verifyAuditChain,
} from '../src/index.ts';

const items = pgTable('items', {
  id: uuidv7PrimaryKey(),
  name: text('name').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

const dataDir = process.argv[2];
const database = await createDb(dataDir ? { dataDir } : {});
try {
  const { db } = database;
  await migrate(database, { migrationsFolder, migrationsTable });
  // An app's own table would come from its own drizzle-kit migrations; inline here to stay one file.
  await db.execute(
    sql`create table if not exists items (id uuid primary key, name text not null, created_at timestamptz not null default now())`,
  );

  const item = await db.transaction(async (tx) => {
    const [created] = await tx.insert(items).values({ name: 'first' }).returning();
    await audit(tx, {
      actor: 'key_demo',
      action: 'item.create',
      resource: 'item',
      resourceId: created!.id,
      outcome: 'success',
    });
    return created!;
  });

  const page = await paginate(db.select().from(items).$dynamic(), {
    keys: { createdAt: items.createdAt, id: items.id },
    direction: 'desc',
    limit: 10,
  });
  const [found] = await db.select().from(items).where(eq(items.id, item.id));
  await database.ping({ timeoutMs: 500 });
  const chain = await verifyAuditChain(db);
  process.stdout.write(
    `${JSON.stringify({ system: database.system, found: found?.name, page: page.items.length, chain: chain.ok })}\n`,
  );
} finally {
  await database.close();
}

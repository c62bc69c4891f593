import pg from 'pg';

/**
 * A database of its own on the PostgreSQL server at `url` (which may be shared with other work), so the
 * service's migrations never touch anyone else's tables; `drop` removes it with whatever connects to it.
 */
export async function privateDatabase(url: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `rampart_bench_${process.pid}_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  const own = new URL(url);
  own.pathname = `/${name}`;
  return {
    url: own.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`drop database if exists "${name}" with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}

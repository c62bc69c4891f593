import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { sql } from 'drizzle-orm';
import { pgTable, text } from 'drizzle-orm/pg-core';
import { afterEach, describe, expect, it } from 'vitest';
import { backends, postgresUrl } from '../test/backends.ts';
import { createDb } from './create-db.ts';
import { isDbError } from './errors.ts';
import type { QueryEvent } from './query-observer.ts';
import { createTestDatabase, type TestDatabase } from './testing/test-database.ts';
import { uuidv7PrimaryKey } from './uuidv7.ts';

const notes = pgTable('notes', { id: uuidv7PrimaryKey(), body: text('body').notNull() });

describe.each(backends)('createDb on $backend', ({ backend, skip }) => {
  let database: TestDatabase | undefined;
  afterEach(async () => {
    await database?.close();
    database = undefined;
  });

  it.skipIf(skip)('hands out the real drizzle database and reports every query to the observer', async () => {
    const events: QueryEvent[] = [];
    // A threshold no statement here comes near, so `slow: false` says the flag follows the threshold (the
    // next test sets it to 0) and never depends on how busy the machine is.
    database = await createTestDatabase({
      backend,
      observer: { onQuery: (event) => events.push(event) },
      slowQueryMs: 3_600_000,
    });
    const { db } = database;
    await db.execute(sql`create table notes (id uuid primary key, body text not null)`);
    events.length = 0;

    const [inserted] = await db.insert(notes).values({ body: 'secret-value' }).returning();
    expect(inserted?.id).toMatch(/^[0-9a-f-]{36}$/);
    const rows = await db.select().from(notes);
    expect(rows).toEqual([inserted]);
    await expect(db.execute(sql`select * from no_such_table`)).rejects.toThrow();

    const [insert, select, failed] = events;
    expect(insert).toMatchObject({ system: backend, operation: 'insert', ok: true, slow: false });
    expect(select).toMatchObject({ system: backend, operation: 'select', ok: true });
    expect(failed).toMatchObject({ system: backend, operation: 'select', ok: false });
    expect(failed?.error).toBeInstanceOf(Error);
    for (const event of events) {
      expect(event.durationMs).toBeGreaterThanOrEqual(0);
      // Parameter values never reach the observer: only the statement text with placeholders.
      expect(event.sql).not.toContain('secret-value');
    }
    expect(insert?.sql).toContain('$');
  });

  it.skipIf(skip)('observes statements inside transactions and flags slow ones', async () => {
    const events: QueryEvent[] = [];
    database = await createTestDatabase({
      backend,
      slowQueryMs: 0,
      observer: { onQuery: (event) => events.push(event) },
    });
    await database.db.transaction(async (tx) => {
      await tx.execute(sql`select 1 as one`);
    });
    const inside = events.find((event) => event.sql === 'select 1 as one');
    expect(inside).toMatchObject({ ok: true, slow: true, operation: 'select' });
  });

  it.skipIf(skip)('keeps working when the observer throws', async () => {
    database = await createTestDatabase({
      backend,
      observer: {
        onQuery() {
          throw new Error('observer bug');
        },
      },
    });
    const result = await database.db.execute(sql`select 2 as two`);
    expect(result.rows).toEqual([{ two: 2 }]);
  });

  it.skipIf(skip)('pings, closes idempotently and refuses to ping once closed', async () => {
    database = await createTestDatabase({ backend });
    expect(database.system).toBe(backend);
    await database.ping({ timeoutMs: 2_000 });
    await database.close();
    await database.close();
    await expect(database.ping()).rejects.toMatchObject({ code: 'RAMPART_DB_CLOSED' });
  });

  it.skipIf(skip)('times a ping out while the database is busy', async () => {
    database = await createTestDatabase({ backend: backend });
    const { db } = database;
    if (backend === 'pglite') {
      // PGlite runs one statement at a time: a long transaction holds it.
      let release!: () => void;
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      const transaction = db.transaction(async () => {
        await held;
      });
      await expect(database.ping({ timeoutMs: 50 })).rejects.toMatchObject({
        code: 'RAMPART_DB_PING_TIMEOUT',
      });
      release();
      await transaction;
    } else {
      // On PostgreSQL the ping waits for a pooled connection; hold all of them (the test pool has 4).
      const pool = (db as unknown as { $client: import('pg').Pool }).$client;
      const held = await Promise.all([1, 2, 3, 4].map(() => pool.connect()));
      await expect(database.ping({ timeoutMs: 50 })).rejects.toMatchObject({
        code: 'RAMPART_DB_PING_TIMEOUT',
      });
      for (const client of held) client.release();
    }
    await database.ping();
  });
});

describe('createDb options', () => {
  it.each([
    [{ url: 'postgres://x', dataDir: '/tmp/x' }, 'not both'],
    [{ poolSize: 0 }, 'poolSize'],
    [{ connectTimeoutMs: 1.5 }, 'connectTimeoutMs'],
    [{ statementTimeoutMs: -1 }, 'statementTimeoutMs'],
    [{ url: '' }, 'url'],
    [{ searchPath: 'x; drop table y' }, 'searchPath'],
    [{ observer: {} }, 'observer'],
    [{ pglite: 'lean' }, 'pglite must be an object'],
    [{ pglite: { sharedBuffersMb: 0 } }, 'pglite.sharedBuffersMb'],
    [{ pglite: { sharedBuffersMb: 2048 } }, 'pglite.sharedBuffersMb'],
    [{ pglite: { walSegmentMb: 3 } }, 'power of two'],
    [{ pglite: { walSegmentMb: 2048 } }, 'pglite.walSegmentMb'],
    [{ pglite: { settings: ['work_mem=1MB'] } }, 'pglite.settings must be an object'],
    [{ pglite: { settings: { 'work_mem=1MB -c x': 1 } } }, 'is not a setting name'],
    [{ pglite: { settings: { shared_buffers: '1GB' } } }, 'use pglite.sharedBuffersMb'],
    [{ pglite: { settings: { io_method: 'worker' } } }, 'io_method'],
    [{ pglite: { settings: { work_mem: '1MB\n-c fsync=on' } } }, 'one-line string'],
    [{ pglite: { settings: { work_mem: Number.NaN } } }, 'pglite.settings.work_mem'],
  ])('rejects %j with RAMPART_DB_OPTIONS_INVALID', async (config, detail) => {
    const error = await createDb(config as never).catch((caught: unknown) => caught);
    expect(isDbError(error, 'RAMPART_DB_OPTIONS_INVALID')).toBe(true);
    expect((error as Error).message).toContain(detail);
  });

  it('a data directory that cannot be created -> RAMPART_DB_OPEN_FAILED saying why, in its message', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'rampart-db-')), 'a-file');
    writeFileSync(file, 'not a directory');
    try {
      for (const [dataDir, why] of [
        [join(file, 'data'), 'ENOTDIR'],
        [file, 'ENOTDIR: a file, not a directory, is in the way'],
      ] as const) {
        const error = await createDb({ dataDir }).catch((caught: unknown) => caught);
        expect(isDbError(error, 'RAMPART_DB_OPEN_FAILED')).toBe(true);
        expect((error as Error).message).toContain(`cannot create the data directory ${dataDir} (${why}`);
      }
    } finally {
      rmSync(dirname(file), { recursive: true, force: true });
    }
  });

  it('a data directory where no directory can be made (under /proc) fails at once, in a child process', () => {
    // Node's recursive mkdirSync spins there for ever at 100% CPU, deaf to SIGTERM: a child, so that a
    // regression fails this test at its timeout instead of hanging the run.
    const module = JSON.stringify(new URL('./create-db.ts', import.meta.url).href);
    const script = `import { createDb } from ${module};
      createDb({ dataDir: '/proc/self/rampart-data' }).then(
        () => console.log('opened'),
        (error) => console.log(error.code, error.message),
      );`;
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.signal).toBeNull();
    expect(result.stdout).toContain(
      'RAMPART_DB_OPEN_FAILED the database could not be opened: cannot create the data directory /proc/self/rampart-data (ENOENT',
    );
  });

  it('opens an in-memory PGlite when given neither url nor dataDir, with the lean defaults', async () => {
    const database = await createDb();
    try {
      expect(database.system).toBe('pglite');
      const result = await database.db.execute(
        sql`select current_setting('server_version_num')::int >= 150000 as ok,
          current_setting('shared_buffers') as shared_buffers,
          current_setting('wal_segment_size') as wal_segment_size,
          current_setting('search_path') as search_path`,
      );
      expect(result.rows).toEqual([
        { ok: true, shared_buffers: '16MB', wal_segment_size: '1MB', search_path: 'public' },
      ]);
    } finally {
      await database.close();
    }
  });

  it('starts PGlite with the pglite options, user settings after ours', async () => {
    const database = await createDb({
      pglite: { sharedBuffersMb: 8, walSegmentMb: 4, settings: { work_mem: '8MB', 'rampart.probe': 'on' } },
    });
    try {
      const result = await database.db.execute(
        sql`select current_setting('shared_buffers') as shared_buffers,
          current_setting('wal_segment_size') as wal_segment_size,
          current_setting('work_mem') as work_mem,
          current_setting('rampart.probe') as probe,
          current_setting('max_parallel_workers') as parallel`,
      );
      // max_parallel_workers=0 is one of PGlite's own start parameters: ours are added, never a replacement.
      expect(result.rows).toEqual([
        { shared_buffers: '8MB', wal_segment_size: '4MB', work_mem: '8MB', probe: 'on', parallel: '0' },
      ]);
    } finally {
      await database.close();
    }
  });

  it('a setting PostgreSQL refuses -> RAMPART_DB_OPEN_FAILED naming it, and the directory stays usable', async () => {
    const root = mkdtempSync(join(tmpdir(), 'rampart-db-'));
    const dataDir = join(root, 'data');
    try {
      const error = await createDb({ dataDir, pglite: { settings: { work_mem: 'lots' } } }).catch(
        (caught: unknown) => caught,
      );
      expect(isDbError(error, 'RAMPART_DB_OPEN_FAILED')).toBe(true);
      expect((error as Error).message).toContain('invalid value for parameter "work_mem": "lots"');
      // The failed open released the directory lock.
      const database = await createDb({ dataDir });
      await database.close();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe.skipIf(postgresUrl === undefined)('createDb on postgresql', () => {
  it('enforces the configured statement timeout', async () => {
    const database = await createDb({ url: postgresUrl!, statementTimeoutMs: 100, poolSize: 1 });
    try {
      const started = Date.now();
      const error = await database.db.execute(sql`select pg_sleep(5)`).catch((caught: unknown) => caught);
      expect(Date.now() - started).toBeLessThan(4_000);
      expect((error as Error).cause).toMatchObject({ code: '57014' });
      await database.ping();
    } finally {
      await database.close();
    }
  });
});

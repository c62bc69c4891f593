import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { createDb } from '../src/create-db.ts';
import { startWriter } from './child.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rampart-db-'));
  dirs.push(dir);
  return join(dir, 'data');
}

describe('one process per PGlite directory', () => {
  it('a second process gets RAMPART_DB_DIRECTORY_LOCKED and the directory stays usable', async () => {
    const dataDir = tempDir();
    const holder = startWriter(dataDir, 'hold');
    await holder.line('open ');
    const error = await createDb({ dataDir }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'RAMPART_DB_DIRECTORY_LOCKED' });
    expect((error as Error).message).toContain(`pid ${holder.process.pid}`);
    // The holder closes cleanly and frees the directory; now this process may open it.
    holder.process.stdin?.end();
    expect(await holder.exited).toBe(0);
    const database = await createDb({ dataDir });
    try {
      const result = await database.db.execute(sql`select count(*)::int as n from crash_rows`);
      expect(result.rows).toEqual([{ n: 0 }]);
      // A second open inside the same process is refused too.
      await expect(createDb({ dataDir })).rejects.toMatchObject({ code: 'RAMPART_DB_DIRECTORY_LOCKED' });
    } finally {
      await database.close();
    }
  });

  it('survives SIGKILL 20 times in a row: every acknowledged write is there after each reopen', async () => {
    const dataDir = tempDir();
    const acknowledged = new Set<number>();
    let previous: number[] = [];
    for (let round = 0; round <= 20; round += 1) {
      const writer = startWriter(dataDir, 'write');
      const open = await writer.line('open ');
      const stored = JSON.parse(open.split(' ').slice(2).join(' ')) as number[];
      // Every write the previous writer acknowledged is present, and nothing older vanished.
      for (const id of acknowledged) expect(stored).toContain(id);
      expect(stored.slice(0, previous.length)).toEqual(previous);
      previous = stored;
      if (round === 20) {
        writer.process.kill('SIGKILL');
        await writer.exited;
        break;
      }
      // Kill at a varying point: after a few acknowledgements plus a few ms, often mid-insert.
      const target = 1 + ((round * 7) % 25);
      await writer.line(`ack ${(stored.at(-1) ?? 0) + target}`);
      await new Promise((done) => setTimeout(done, round % 5));
      writer.process.kill('SIGKILL');
      await writer.exited;
      for (const line of writer.lines) {
        if (line.startsWith('ack ')) acknowledged.add(Number(line.slice(4)));
      }
    }
    expect(acknowledged.size).toBeGreaterThanOrEqual(20);
  }, 300_000);
});

describe('data directories made by earlier versions', () => {
  it('a directory with 16 MB WAL segments and no start parameters keeps opening and keeps its data', async () => {
    const dataDir = tempDir();
    // What createDb did before the pglite options: PGlite's own initdb and start parameters.
    const old = await PGlite.create({ dataDir });
    await old.exec(`create table kept (id integer primary key, body text not null);
      insert into kept select g, 'row ' || g from generate_series(1, 500) g`);
    const before = await old.query<{ wal: string }>(`select current_setting('wal_segment_size') as wal`);
    expect(before.rows).toEqual([{ wal: '16MB' }]);
    await old.close();

    const database = await createDb({ dataDir });
    try {
      const settings = await database.db.execute(
        sql`select current_setting('wal_segment_size') as wal, current_setting('shared_buffers') as buffers`,
      );
      // The segment size is fixed at initdb: the directory keeps 16 MB; shared_buffers is ours.
      expect(settings.rows).toEqual([{ wal: '16MB', buffers: '16MB' }]);
      const read = await database.db.execute(sql`select count(*)::int as n, max(body) as last from kept`);
      expect(read.rows).toEqual([{ n: 500, last: 'row 99' }]);
      // Write into a new WAL segment of the old size, made by the new code.
      const segment = sql`select pg_walfile_name(pg_current_wal_lsn()) as file`;
      const [first] = (await database.db.execute(segment)).rows;
      await database.db.execute(sql`select pg_switch_wal()`);
      await database.db.execute(
        sql`insert into kept select g, 'row ' || g from generate_series(501, 1000) g`,
      );
      const [second] = (await database.db.execute(segment)).rows;
      expect(second?.file).not.toBe(first?.file);
    } finally {
      await database.close();
    }

    const reopened = await createDb({ dataDir });
    try {
      const read = await reopened.db.execute(sql`select count(*)::int as n, sum(id)::int as ids from kept`);
      expect(read.rows).toEqual([{ n: 1000, ids: (1000 * 1001) / 2 }]);
    } finally {
      await reopened.close();
    }
    // And the version before can still read what the new settings wrote.
    const back = await PGlite.create({ dataDir });
    try {
      const read = await back.query<{ n: number }>('select count(*)::int as n from kept');
      expect(read.rows).toEqual([{ n: 1000 }]);
    } finally {
      await back.close();
    }
  });
});

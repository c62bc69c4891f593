import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

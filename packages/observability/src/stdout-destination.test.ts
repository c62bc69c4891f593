import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bufferedDestination, STDOUT_BUFFER } from './stdout-destination.ts';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

function tempFile() {
  const dir = mkdtempSync(join(tmpdir(), 'rampart-destination-'));
  const path = join(dir, 'out.log');
  const fd = openSync(path, 'w');
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  cleanups.push(() => closeSync(fd));
  return { fd, read: () => readFileSync(path, 'utf8') };
}

describe('bufferedDestination', () => {
  it('holds short lines until the buffer fills, then writes them in one piece, in order', () => {
    const { fd, read } = tempFile();
    const destination = bufferedDestination(fd);
    cleanups.push(() => destination.close());
    const line = `${'x'.repeat(99)}\n`;
    const count = Math.ceil(STDOUT_BUFFER.bytes / line.length);
    for (let i = 0; i < count - 1; i++) destination.write(line);
    expect(read()).toBe('');
    destination.write(line);
    destination.write('next\n');
    expect(read()).toBe(line.repeat(count));
    destination.flushSync();
    expect(read()).toBe(`${line.repeat(count)}next\n`);
  });

  it('writes multi-byte text and lines longer than the buffer intact', () => {
    const { fd, read } = tempFile();
    const destination = bufferedDestination(fd);
    cleanups.push(() => destination.close());
    const long = `${'ünïcødé ✓ '.repeat(5_000)}\n`;
    destination.write('a\n');
    destination.write(long);
    destination.write('€\n');
    destination.flushSync();
    expect(read()).toBe(`a\n${long}€\n`);
  });

  it('writes what a quiet process logged within the flush interval, without waiting for a full buffer', async () => {
    const { fd, read } = tempFile();
    const destination = bufferedDestination(fd);
    cleanups.push(() => destination.close());
    destination.write('only line\n');
    expect(read()).toBe('');
    await new Promise((resolve) => setTimeout(resolve, STDOUT_BUFFER.flushMs * 3));
    expect(read()).toBe('only line\n');
  });

  it('drops a batch it cannot write instead of throwing into the logging call', () => {
    // A descriptor open for reading only: every write fails (EBADF), as writes to a gone reader do (EPIPE).
    const dir = mkdtempSync(join(tmpdir(), 'rampart-destination-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    closeSync(openSync(join(dir, 'ro.log'), 'w'));
    const fd = openSync(join(dir, 'ro.log'), 'r');
    cleanups.push(() => closeSync(fd));
    const destination = bufferedDestination(fd);
    destination.write('lost\n');
    expect(() => destination.flushSync()).not.toThrow();
    destination.write('also lost\n');
    expect(() => destination.close()).not.toThrow();
    expect(readFileSync(join(dir, 'ro.log'), 'utf8')).toBe('');
  });
});

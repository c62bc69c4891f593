import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const logger = fileURLToPath(new URL('./logger.ts', import.meta.url));

// Regression: with the default destination buffered asynchronously, a process whose stdout reader had gone
// (a log shipper restarted, a test that stopped reading) hung forever on exit instead of exiting.
describe('createLogger default destination', () => {
  it('writes every buffered line before a normal exit', { timeout: 30_000 }, async () => {
    const script = `
      const { createLogger } = await import(${JSON.stringify(logger)});
      const log = createLogger({ service: 'flush', redact: [] });
      log.info('first');
      setTimeout(() => { log.info('second'); process.exit(0); }, 20);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += String(chunk);
    });
    await once(child, 'exit');
    expect(
      out
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).msg),
    ).toEqual(['first', 'second']);
  });

  it('lets the process exit after its stdout reader has gone', { timeout: 30_000 }, async () => {
    const script = `
      const { createLogger } = await import(${JSON.stringify(logger)});
      const log = createLogger({ service: 'epipe', redact: [] });
      process.on('SIGTERM', () => {
        for (let i = 0; i < 200; i += 1) log.info({ i }, 'a line written after the reader has gone');
        process.exit(0);
      });
      console.error('ready');
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    await once(child.stderr, 'data');
    child.stdout.destroy();
    child.kill('SIGTERM');
    const outcome = await Promise.race([
      once(child, 'exit').then(([code]) => `exit ${code}`),
      new Promise<string>((resolve) => setTimeout(() => resolve('still running after 10 s'), 10_000).unref()),
    ]);
    child.kill('SIGKILL');
    expect(outcome).toBe('exit 0');
  });
});

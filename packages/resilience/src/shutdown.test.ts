import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { createShutdown } from './shutdown.ts';

describe('createShutdown (in process, exit replaced)', () => {
  it('turns readiness first, then runs the steps in order, then exits 0', async () => {
    const order: string[] = [];
    const codes: number[] = [];
    const shutdown = createShutdown({
      exit: (code) => codes.push(code),
      drainDelayMs: 20,
      steps: ['http', 'tasks', 'db', 'exporters'].map((name) => ({
        name,
        run: async () => {
          order.push(`${name}:${shutdown.isShuttingDown()}`);
        },
      })),
    });
    expect(shutdown.isShuttingDown()).toBe(false);
    const pending = shutdown.begin('test');
    expect(shutdown.isShuttingDown()).toBe(true);
    expect(order).toEqual([]);
    expect(await pending).toBe(0);
    expect(order).toEqual(['http:true', 'tasks:true', 'db:true', 'exporters:true']);
    expect(codes).toEqual([0]);
    expect(await shutdown.begin('again')).toBe(0);
    expect(codes).toEqual([0]);
  });

  it('keeps running later steps when one fails, and exits 1', async () => {
    const ran: string[] = [];
    const codes: number[] = [];
    const logged: string[] = [];
    const shutdown = createShutdown({
      exit: (code) => codes.push(code),
      logger: { info: () => {}, error: (_object, message) => logged.push(message) },
      steps: [
        {
          name: 'tasks',
          run: () => {
            throw new Error('worker stuck');
          },
        },
        { name: 'exporters', run: () => void ran.push('exporters') },
      ],
    });
    expect(await shutdown.begin('test')).toBe(1);
    expect(ran).toEqual(['exporters']);
    expect(codes).toEqual([1]);
    expect(logged).toContain('shutdown: step failed');
  });

  it('exits 1 at the hard deadline and aborts the running step', async () => {
    const codes: number[] = [];
    let stepSignal: AbortSignal | undefined;
    const shutdown = createShutdown({
      exit: (code) => codes.push(code),
      graceMs: 30,
      steps: [
        {
          name: 'hangs',
          run: (signal) => {
            stepSignal = signal;
            return new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
          },
        },
      ],
    });
    await shutdown.begin('test');
    expect(codes).toEqual([1]);
    expect(stepSignal?.aborted).toBe(true);
  });

  it.each([
    [{ steps: 'nope' }],
    [{ steps: [{ name: 'x' }] }],
    [{ steps: [], graceMs: 0 }],
    [{ steps: [], graceMs: 100, drainDelayMs: 100 }],
  ])('rejects invalid options %j', (options) => {
    expect(() => createShutdown(options as never)).toThrow(
      expect.objectContaining({ code: 'RAMPART_RESILIENCE_INVALID_OPTIONS' }),
    );
  });

  it.each([
    ['no options at all', undefined],
    ['graceMs above 2^31-1 ms', { steps: [], graceMs: 2 ** 31 }],
    ['signals as a string', { steps: [], signals: 'SIGTERM' }],
    ['an unknown signal', { steps: [], signals: ['SIGFOO'] }],
    ['a signal no process can handle', { steps: [], signals: ['SIGKILL'] }],
    ['a logger without error()', { steps: [], logger: { info() {} } }],
    ['exit not a function', { steps: [], exit: 1 }],
  ])('rejects %s with a named error', (_label, options) => {
    expect(() => createShutdown(options as never)).toThrow(
      expect.objectContaining({ code: 'RAMPART_RESILIENCE_INVALID_OPTIONS' }),
    );
  });

  it('treats an option set to undefined as not given', async () => {
    const codes: number[] = [];
    const shutdown = createShutdown({
      steps: [],
      graceMs: undefined,
      drainDelayMs: undefined,
      signals: undefined,
      logger: undefined,
      exit: (code) => codes.push(code),
    });
    expect(await shutdown.begin('test')).toBe(0);
    expect(codes).toEqual([0]);
  });
});

describe('createShutdown in a real process', () => {
  it('drains normally on the first SIGTERM after listen() was called twice', async () => {
    const script = `const { createShutdown } = await import(${JSON.stringify(new URL('./shutdown.ts', import.meta.url).href)});
      const line = (msg) => console.log(JSON.stringify({ msg }));
      const shutdown = createShutdown({
        logger: { info: (_o, msg) => line(msg), error: (_o, msg) => line(msg) },
        steps: [{ name: 'http', run: () => line('http step ran') }],
      });
      shutdown.listen();
      shutdown.listen();
      line('listening');
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.setEncoding('utf8');
    const listening = new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk: string) => {
        output += chunk;
        if (output.includes('listening')) resolve();
      });
    });
    const exited = once(child, 'exit');
    await listening;
    child.kill('SIGTERM');
    const [code] = await exited;
    const messages = output
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { msg: string }).msg);
    expect(messages).not.toContain('shutdown: second signal, exiting now');
    expect(messages).toContain('http step ran');
    expect(code).toBe(0);
  });

  it('removes its handlers with the function listen() returned, however often it was called', () => {
    const before = process.listenerCount('SIGTERM');
    const shutdown = createShutdown({ steps: [], exit: () => {} });
    const remove = shutdown.listen();
    expect(shutdown.listen()).toBe(remove);
    expect(process.listenerCount('SIGTERM')).toBe(before + 1);
    remove();
    expect(process.listenerCount('SIGTERM')).toBe(before);
  });
});

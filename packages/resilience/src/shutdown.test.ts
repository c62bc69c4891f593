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
});

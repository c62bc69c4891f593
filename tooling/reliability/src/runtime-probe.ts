// Preloaded into a service (`--expose-gc --import`) so a scenario can read its heap and event-loop delay
// without asking it over HTTP (where load shedding or the rate limit may answer instead). On SIGUSR2 it
// collects garbage, then prints one line: `runtime-probe: heapUsed=<bytes> heapTotal=<bytes> external=<bytes>
// arrayBuffers=<bytes> lagP99Ms=<ms>`, the delay being the event loop's p99 since the previous probe; the
// V8 figures say where a growing RSS is (the JS heap, its reserved pages, or memory outside it).
import { monitorEventLoopDelay } from 'node:perf_hooks';

const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();

process.on('SIGUSR2', () => {
  const lagP99Ms = delay.percentile(99) / 1e6;
  delay.reset();
  (globalThis as { gc?: () => void }).gc?.();
  const { heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
  process.stdout.write(
    `runtime-probe: heapUsed=${heapUsed} heapTotal=${heapTotal} external=${external} arrayBuffers=${arrayBuffers} lagP99Ms=${lagP99Ms.toFixed(1)}\n`,
  );
});

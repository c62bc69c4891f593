// Loaded with `node --import @rampart/observability/register ./dist/server.js`, before the app's own
// modules, so outbound instrumentations hook in before anything is imported. This is the one place in
// the package that reads process.env: a preload hook runs before the app's env.ts exists and cannot be
// handed config, so it takes the standard OTEL_* variables, which every collector and platform already
// speaks. Everything else in the package takes options as arguments.

import { startTracing } from '../tracing.ts';
import { readTracingConfig } from '../tracing-config.ts';

try {
  const config = readTracingConfig(process.env);
  if (config.enabled) {
    const tracing = await startTracing(config.options);
    // A process that ends by running out of work still flushes; a service's shutdown path calls
    // getTracing()?.shutdown() itself before process.exit.
    process.once('beforeExit', () => void tracing.shutdown());
  }
} catch (error) {
  const { code, message } = error as { code?: string; message?: string };
  process.stderr.write(`@rampart/observability/register: ${code ?? 'error'}: ${message}\n`);
  process.exit(1);
}

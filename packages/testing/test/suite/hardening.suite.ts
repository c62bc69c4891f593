// What a service's hardening test looks like, against the fixture; BROKEN=headers removes one piece,
// ALL=1 runs all ten checks (on shared targets) instead of two.
import { startTracing, type Tracing } from '@rampart/observability';
import { afterAll, beforeAll } from 'vitest';
import { describeHardening } from '../../src/index.ts';
import { buildFixture } from '../fixture-app.ts';

let tracing: Tracing;
beforeAll(async () => {
  tracing = await startTracing({ service: 'fixture', exporter: 'memory' });
});
afterAll(() => tracing.shutdown());

const broken = process.env.BROKEN === 'headers';
describeHardening(
  (io) => buildFixture(io, tracing, broken ? { without: 'headers' } : {}),
  process.env.ALL === '1' ? { randomPaths: 1_000 } : { checks: ['security-headers', 'readiness'] },
);

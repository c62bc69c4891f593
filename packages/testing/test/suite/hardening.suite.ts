// What a service's hardening test looks like, against the fixture; BROKEN=headers removes one piece,
// ALL=1 runs all eleven checks (on shared targets) instead of two.
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
// UNCHECKED=1: an orders route no drawn body reaches, and no limitedApiKey (KIT NOT CHECKED lines).
const unchecked = process.env.UNCHECKED === '1';
describeHardening(
  (io) => buildFixture(io, tracing, broken ? { without: 'headers' } : unchecked ? { orders: true } : {}),
  process.env.ALL === '1'
    ? { randomPaths: 1_000 }
    : unchecked
      ? { checks: ['auth', 'audit'], failOnNotChecked: process.env.FAIL_UNCHECKED === '1' }
      : { checks: ['security-headers', 'readiness'] },
);

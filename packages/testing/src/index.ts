export { describeHardening } from './describe-hardening.ts';
export { isTestingError, TESTING_ERRORS, TestingError, type TestingErrorCode } from './errors.ts';
export type { CheckResult } from './hardening-run.ts';
export { createLogCapture, type LogCapture } from './log-capture.ts';
export {
  type BuildTarget,
  CHECK_NAMES,
  type CheckName,
  HARDENING_DEFAULTS,
  type HardeningIo,
  type HardeningOptions,
  type HardeningTarget,
  type LimitedApiKey,
  type SpanLike,
  type WriteSample,
} from './options.ts';
export type { RouteRecord, RouteSchema } from './route-table.ts';
export { formatResult, runHardeningCheck, runHardeningChecks } from './run-hardening-checks.ts';
export { arbitraryFromSchema } from './schema-arbitrary.ts';

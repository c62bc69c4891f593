export { createJitterBackoff, fullJitterDelay, parseRetryAfter } from './backoff.ts';
export {
  ERRORS,
  errorCodes,
  isResilienceError,
  ResilienceError,
  type ResilienceErrorCode,
  type ResilienceErrorOptions,
} from './errors.ts';
export {
  type BreakerSource,
  type CheckResult,
  createHealth,
  HEALTH_DEFAULTS,
  type Health,
  type HealthCheck,
  type HealthOptions,
  type LiveReport,
  pgCheck,
  type ReadyReport,
  redisCheck,
} from './health.ts';
export {
  createHttpClient,
  type Headers,
  HTTP_CLIENT_DEFAULTS,
  type HttpBody,
  type HttpClient,
  type HttpClientOptions,
  type HttpRequest,
  type HttpResponse,
} from './http-client.ts';
export type { PolicyEvent, PolicyObserver } from './observer.ts';
export {
  type AttemptContext,
  type BreakerOptions,
  type BreakerState,
  type BulkheadOptions,
  type CallOptions,
  createPolicy,
  isTransient,
  POLICY_DEFAULTS,
  type Policy,
  type PolicyOptions,
  type RetryOptions,
} from './policy.ts';
export {
  createRetryBudget,
  RETRY_BUDGET_DEFAULTS,
  type RetryBudget,
  type RetryBudgetOptions,
} from './retry-budget.ts';
export {
  createShutdown,
  SHUTDOWN_DEFAULTS,
  type Shutdown,
  type ShutdownLogger,
  type ShutdownOptions,
  type ShutdownStep,
} from './shutdown.ts';

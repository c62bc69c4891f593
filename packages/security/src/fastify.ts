export {
  API_KEY_AUTH_DEFAULTS,
  type ApiKeyAuthOptions,
  apiKeyAuthPlugin,
  type RouteAuth,
} from './fastify/auth-plugin.ts';
export {
  type ProblemErrorsOptions,
  problemClientErrorHandler,
  problemErrorsPlugin,
  problemFrameworkErrors,
} from './fastify/errors-plugin.ts';
export { securityHeadersPlugin } from './fastify/headers-plugin.ts';
export {
  RATE_LIMIT_DEFAULTS,
  type RateLimitOptions,
  type RateLimitTier,
  type RequestLimiter,
  type RequestLimiterOptions,
  rateLimitPlugin,
} from './fastify/rate-limit-plugin.ts';
export { type TypeBoxTypeProvider, useTypeBox } from './fastify/typebox.ts';

import type {
  FastifyInstance,
  FastifyPluginCallback,
  FastifyReply,
  FastifyRequest,
  RouteOptions,
} from 'fastify';
import fp from 'fastify-plugin';
import type { ApiKeyVerifier, AuthenticatedKey } from '../api-key-types.ts';
import { SecurityError, type SecurityErrorCode } from '../errors.ts';
import type { WindowState } from '../rate-limit-store.ts';
import { API_KEY_PATTERN } from '../redaction.ts';
import {
  FAILED_AUTH_LIMITER,
  guarded,
  type RateLimitTier,
  type RequestLimiter,
} from './rate-limit-plugin.ts';

/** A route's auth decision: the scopes a key needs (empty: any valid key), or 'public' on purpose. */
export type RouteAuth = 'public' | { scopes: readonly string[] };

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: RouteAuth;
  }
  interface FastifyRequest {
    /** The verified key, or null on a public route / before authentication. */
    apiKey: AuthenticatedKey | null;
  }
}

type Done = (error?: Error) => void;

export interface ApiKeyAuthOptions {
  verifier: ApiKeyVerifier;
  /** Unknown paths (404s) need a key too, so unauthenticated clients cannot map the routes. Default true. */
  protectNotFound?: boolean;
  /**
   * Failed authentications (401s: no key, a bad key) allowed per client address per window before every
   * request from that address answers 429, a good key included. Counted on the rate-limit plugin's store, so
   * that plugin must be registered first. Default 20 a minute when it is (off, with a warning logged, when it
   * is not); `false` turns it off.
   */
  failedAuth?: RateLimitTier | false;
}

export const API_KEY_AUTH_DEFAULTS = Object.freeze({
  protectNotFound: true,
  failedAuth: Object.freeze({ max: 20, timeWindowMs: 60_000 }),
});

const AUTH_HOOK = Symbol('rampart.auth');
const QUERY_KEY_NAMES = /(?:^|&)(?:api[-_]?key|key|access[-_]?token|token)=/i;

function presentedKey(request: FastifyRequest): string | undefined {
  const header = request.headers['x-api-key'];
  if (typeof header === 'string' && header.length > 0) return header;
  const authorization = request.headers.authorization;
  if (typeof authorization === 'string' && /^bearer /i.test(authorization)) {
    // `Bearer ` with nothing after it presents no key at all.
    const token = authorization.slice(7).trim();
    return token.length > 0 ? token : undefined;
  }
  return undefined;
}

function keyInQuery(url: string): boolean {
  const mark = url.indexOf('?');
  if (mark === -1) return false;
  let query = url.slice(mark + 1);
  try {
    query = decodeURIComponent(query.replaceAll('+', ' '));
  } catch {
    // A malformed escape still gets the raw-text checks below.
  }
  API_KEY_PATTERN.lastIndex = 0;
  return QUERY_KEY_NAMES.test(query) || API_KEY_PATTERN.test(query);
}

function validateDecision(route: RouteOptions): void {
  const auth = route.config?.auth;
  const valid =
    auth === 'public' ||
    (typeof auth === 'object' &&
      auth !== null &&
      Array.isArray(auth.scopes) &&
      auth.scopes.every((scope) => typeof scope === 'string' && scope.length > 0));
  if (!valid) {
    throw new SecurityError('RAMPART_SECURITY_ROUTE_AUTH_MISSING', {
      detail: `${route.method} ${route.url}`,
    });
  }
}

const isPromise = <T>(value: T | Promise<T>): value is Promise<T> => value instanceof Promise;

const invalid = (detail: string) => new SecurityError('RAMPART_SECURITY_OPTIONS_INVALID', { detail });
const OPTION_KEYS = ['verifier', 'protectNotFound', 'failedAuth', 'prefix', 'logLevel', 'logSerializers'];

/** The options checked, and the failed-auth limiter made: throws RAMPART_SECURITY_OPTIONS_INVALID. */
function configure(app: FastifyInstance, options: ApiKeyAuthOptions) {
  if (typeof options !== 'object' || options === null) throw invalid('options must be { verifier }');
  for (const key of Object.keys(options))
    if (!OPTION_KEYS.includes(key)) throw invalid(`unknown option "${key}"`);
  const { verifier, protectNotFound = API_KEY_AUTH_DEFAULTS.protectNotFound, failedAuth } = options;
  if (typeof verifier?.verify !== 'function') throw invalid('verifier.verify is required');
  if (verifier.verifyCached !== undefined && typeof verifier.verifyCached !== 'function') {
    throw invalid('verifier.verifyCached must be a function when given');
  }
  if (typeof protectNotFound !== 'boolean') throw invalid('protectNotFound must be true or false');
  if (
    failedAuth !== undefined &&
    failedAuth !== false &&
    (typeof failedAuth !== 'object' || failedAuth === null)
  ) {
    throw invalid('failedAuth must be { max, timeWindowMs } or false');
  }
  let limiter: RequestLimiter | undefined;
  if (failedAuth !== false) {
    if (app.hasDecorator('createRequestLimiter')) {
      const tier = failedAuth ?? API_KEY_AUTH_DEFAULTS.failedAuth;
      limiter = app.createRequestLimiter({
        max: tier.max,
        timeWindowMs: tier.timeWindowMs,
        name: FAILED_AUTH_LIMITER,
      });
    } else if (failedAuth !== undefined) {
      throw invalid('failedAuth needs the rate-limit plugin registered before the auth plugin');
    } else {
      app.log.warn(
        'failed-authentication limiting is off: register the rate-limit plugin before the auth plugin, or pass failedAuth: false',
      );
    }
  }
  return { verifier, protectNotFound, limiter };
}

const plugin: FastifyPluginCallback<ApiKeyAuthOptions> = (app, options, done) => {
  let configured: ReturnType<typeof configure>;
  try {
    configured = configure(app, options);
  } catch (error) {
    // Reported through done: thrown here it would be an uncaught exception, not a rejected ready().
    done(error as Error);
    return;
  }
  const { verifier, protectNotFound, limiter } = configured;

  // Callback style, each step continuing the next: with the key's row cached and counters in memory nothing
  // waits for a promise; a database read or a Redis answer continues the chain when it arrives.
  function authenticate(request: FastifyRequest, reply: FastifyReply, scopes: readonly string[], next: Done) {
    if (keyInQuery(request.url)) return next(new SecurityError('RAMPART_SECURITY_KEY_IN_QUERY'));
    if (!limiter) return verify(request, scopes, next);
    const state = limiter.peek(`authfail:${request.clientKey}`);
    if (!isPromise(state)) return afterPeek(state, request, reply, scopes, next);
    state.then((settled) => guarded(() => afterPeek(settled, request, reply, scopes, next), next), next);
  }

  function afterPeek(
    state: WindowState,
    request: FastifyRequest,
    reply: FastifyReply,
    scopes: readonly string[],
    next: Done,
  ) {
    if (state.current >= (limiter as RequestLimiter).max) {
      reply.header('retry-after', String(Math.max(1, Math.ceil(state.ttlMs / 1000))));
      return next(new SecurityError('RAMPART_SECURITY_AUTH_RATE_LIMITED'));
    }
    verify(request, scopes, next);
  }

  function verify(request: FastifyRequest, scopes: readonly string[], next: Done) {
    const presented = presentedKey(request);
    if (presented === undefined) return rejected(request, 'RAMPART_SECURITY_AUTH_REQUIRED', next);
    const known = verifier.verifyCached?.(presented);
    // A thenable is not an answer (a plain-JS verifyCached made async): ask verify instead.
    if (known !== undefined && typeof (known as { then?: unknown } | null)?.then !== 'function') {
      return verified(known ?? undefined, request, scopes, next);
    }
    // The executor catches a verifier that throws before returning its promise; guarded, a throw after.
    new Promise<AuthenticatedKey | undefined>((resolve) => resolve(verifier.verify(presented))).then(
      (key) => guarded(() => verified(key, request, scopes, next), next),
      next,
    );
  }

  function verified(
    key: AuthenticatedKey | undefined,
    request: FastifyRequest,
    scopes: readonly string[],
    next: Done,
  ) {
    if (!key) return rejected(request, 'RAMPART_SECURITY_KEY_INVALID', next);
    request.apiKey = key;
    for (const scope of scopes) {
      if (!key.scopes.includes(scope)) return next(new SecurityError('RAMPART_SECURITY_SCOPE_MISSING'));
    }
    next();
  }

  function rejected(request: FastifyRequest, code: SecurityErrorCode, next: Done) {
    const error = new SecurityError(code);
    if (!limiter) return next(error);
    const counted = limiter.hit(`authfail:${request.clientKey}`);
    if (isPromise(counted)) counted.then(() => next(error), next);
    else next(error);
  }

  app.decorateRequest('apiKey', null);
  // The decision is read once per route, here, and closed over: nothing is looked up per request. The hook
  // goes first among the route's hooks so the rate limiter (a route hook too) can key by the key id.
  app.addHook('onRoute', (route) => {
    validateDecision(route);
    const auth = route.config?.auth;
    if (auth === 'public' || auth === undefined) return;
    const existing = route.onRequest === undefined ? [] : [route.onRequest].flat();
    // Once per route even if its options arrive carrying the hook already (routes built from another's options;
    // Fastify 5 copies a GET's options for its HEAD before onRoute runs, so the HEAD gets its own hook here).
    if (existing.some((hook) => AUTH_HOOK in hook)) return;
    const scopes = [...auth.scopes];
    const hook = Object.assign(
      (request: FastifyRequest, reply: FastifyReply, next: Done) =>
        authenticate(request, reply, scopes, next),
      { [AUTH_HOOK]: true },
    );
    route.onRequest = [hook, ...existing] as RouteOptions['onRequest'];
  });
  if (protectNotFound) {
    app.addHook('onRequest', (request, reply, next) => {
      if (!request.is404) return next();
      authenticate(request, reply, [], next);
    });
  }
  done();
};

/**
 * API-key authentication for every route: each route must declare `config.auth` (scopes or 'public') or
 * registration fails; keys come only from `x-api-key` or `Authorization: Bearer`; 401/403 as problem+json.
 */
export const apiKeyAuthPlugin = fp(plugin, { fastify: '5.x', name: '@rampart/security/auth' });

import type { FastifyPluginCallback } from 'fastify';
import fp from 'fastify-plugin';
import { type SecurityHeadersOptions, securityHeaders } from '../headers.ts';

/**
 * Adds the API security-header policy to every response, errors and 404s included. The header object is built
 * once at registration. Each request gets it when it arrives (an onRequest hook), not as the response leaves:
 * a header the route then sets itself (its own `Cache-Control`, CSP or `X-Frame-Options`) replaces ours,
 * and nothing is checked per header to allow it. Register this plugin first, so that its hook runs before
 * any other that might answer a request.
 */
const plugin: FastifyPluginCallback<SecurityHeadersOptions> = (app, options, done) => {
  let headers: Readonly<Record<string, string>>;
  try {
    headers = securityHeaders(options);
  } catch (error) {
    // Reported through done: thrown here it would be an uncaught exception, not a rejected ready().
    done(error as Error);
    return;
  }
  app.addHook('onRequest', (_request, reply, next) => {
    reply.headers(headers);
    next();
  });
  done();
};

export const securityHeadersPlugin = fp(plugin, { fastify: '5.x', name: '@rampart/security/headers' });

import type { FastifyPluginCallback } from 'fastify';
import fp from 'fastify-plugin';
import { type SecurityHeadersOptions, securityHeaders } from '../headers.ts';

/**
 * Adds the API security-header policy to every response, errors and 404s included. The header object is built
 * once at registration; each response only copies it.
 */
const plugin: FastifyPluginCallback<SecurityHeadersOptions> = (app, options, done) => {
  const headers = securityHeaders(options);
  app.addHook('onSend', (_request, reply, payload, next) => {
    reply.headers(headers);
    reply.removeHeader('x-powered-by');
    next(null, payload);
  });
  done();
};

export const securityHeadersPlugin = fp(plugin, { fastify: '5.x', name: '@rampart/security/headers' });

import type { FastifyReply } from 'fastify';

/**
 * An AbortSignal that aborts when the client goes away before the response is sent, for passing to
 * outbound calls made on the request's behalf.
 *
 * Not `request.signal`: Fastify 5 aborts that one when the request's `close` event fires, and Node emits
 * `close` as soon as a request body has been read, so on every POST with a body it is already aborted by
 * the time the handler runs (fastify/fastify#6725). The response's `close` before it ended is the one
 * sign that the client is gone.
 *
 * @example
 * app.post('/orders', async (request, reply) => {
 *   const response = await inventoryApi.request({ method: 'POST', path: '/reservations', body, signal: clientGone(reply) });
 * });
 */
export function clientGone(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  const response = reply.raw;
  if (response.writableEnded) return controller.signal;
  // Called after the hang-up (the handler awaited something first): 'close' has already fired.
  if (response.destroyed || response.closed) {
    controller.abort(new Error('the client closed the connection'));
    return controller.signal;
  }
  response.once('close', () => {
    if (!response.writableEnded) controller.abort(new Error('the client closed the connection'));
  });
  return controller.signal;
}

/**
 * One JSON log line per request, and the request id echoed to the caller.
 */
import fp from 'fastify-plugin'

export default fp(async function requestLog (fastify) {
  fastify.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id)
  })
  fastify.addHook('onResponse', async (request, reply) => {
    request.log.info({
      method: request.method,
      url: request.url,
      route: request.routeOptions.url,
      statusCode: reply.statusCode,
      durationMs: Math.round(reply.elapsedTime * 100) / 100,
      cache: reply.getHeader('x-cache')
    }, 'request')
  })
}, { name: 'request-log' })

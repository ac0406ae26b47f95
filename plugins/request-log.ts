/**
 * One JSON log line per request, and the request id echoed to the caller.
 */
import fp from 'fastify-plugin'

// Callback-style hooks: they run on every request, and skip a promise each.
export default fp(async function requestLog (fastify) {
  fastify.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id)
    done()
  })
  fastify.addHook('onResponse', (request, reply, done) => {
    request.log.info({
      method: request.method,
      url: request.url,
      route: request.routeOptions.url,
      statusCode: reply.statusCode,
      durationMs: Math.round(reply.elapsedTime * 100) / 100,
      cache: reply.getHeader('x-cache')
    }, 'request')
    done()
  })
}, { name: 'request-log' })

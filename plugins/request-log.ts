/**
 * One JSON log line per request (with the upstream calls made for it and
 * their time), and the request id echoed to the caller.
 */
import fp from 'fastify-plugin'
import { startTally, type UpstreamTally } from '../src/upstream-timing.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** Upstream calls made for this request, and their time. */
    upstreamTally: UpstreamTally | null
  }
}

// Callback-style hooks: they run on every request, and skip a promise each.
export default fp(async function requestLog (fastify) {
  fastify.decorateRequest('upstreamTally', null)
  fastify.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id)
    request.upstreamTally = startTally()
    done()
  })
  fastify.addHook('onResponse', (request, reply, done) => {
    request.log.info({
      method: request.method,
      url: request.url,
      route: request.routeOptions.url,
      // The verified key's name (never the key); absent when the gateway has no keys.
      caller: request.caller === '' ? undefined : request.caller,
      statusCode: reply.statusCode,
      durationMs: Math.round(reply.elapsedTime * 100) / 100,
      cache: reply.getHeader('x-cache'),
      upstreamCalls: request.upstreamTally?.calls ?? 0,
      upstreamMs: Math.round((request.upstreamTally?.ms ?? 0) * 100) / 100
    }, 'request')
    done()
  })
}, { name: 'request-log' })

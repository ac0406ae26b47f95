/**
 * Every route is a GET: a request that carries a body is refused before
 * anything reads it.
 */
import fp from 'fastify-plugin'
import { GatewayError } from '../src/errors.js'

export default fp(async function noBody (fastify) {
  fastify.addHook('onRequest', async (request) => {
    const length = Number(request.headers['content-length'] ?? 0)
    if (length > 0 || request.headers['transfer-encoding'] !== undefined) {
      throw new GatewayError({ status: 400, code: 'body_not_allowed', title: 'Body not allowed', detail: `${request.method} requests to this gateway take no body.` })
    }
  })
}, { name: 'no-body' })

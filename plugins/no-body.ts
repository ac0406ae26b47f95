/**
 * Every route is a GET: a request that carries a body is refused before
 * anything reads it.
 */
import fp from 'fastify-plugin'
import { GatewayError } from '../src/errors.js'

export default fp(async function noBody (fastify) {
  fastify.addHook('onRequest', (request, _reply, done) => {
    const { 'content-length': length, 'transfer-encoding': encoding } = request.headers
    if ((length !== undefined && length !== '0') || encoding !== undefined) {
      done(new GatewayError({ status: 400, code: 'body_not_allowed', title: 'Body not allowed', detail: `${request.method} requests to this gateway take no body.` }))
      return
    }
    done()
  })
}, { name: 'no-body' })

/**
 * Every route is a GET: a request that carries a body is refused before
 * anything reads it.
 */
import fp from 'fastify-plugin'
import { gatewayError } from '../src/errors.js'

export default fp(async function noBody (fastify) {
  fastify.addHook('onRequest', (request, _reply, done) => {
    const { 'content-length': length, 'transfer-encoding': encoding } = request.headers
    if ((length !== undefined && length !== '0') || encoding !== undefined) {
      done(gatewayError('body_not_allowed', `${request.method} requests to this gateway take no body.`))
      return
    }
    done()
  })
}, { name: 'no-body' })

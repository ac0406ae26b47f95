/**
 * Graceful shutdown, the part Fastify leaves to us: once the server is
 * closing, every answer still in flight says `Connection: close`, so its
 * keep-alive socket ends with it and the close is not held up until the
 * keep-alive timeout.
 */
import fp from 'fastify-plugin'

export default fp(async function gracefulClose (fastify) {
  let closing = false
  fastify.addHook('preClose', (done) => {
    closing = true
    done()
  })
  fastify.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close')
    done(null, payload)
  })
}, { name: 'graceful-close' })

/**
 * Graceful shutdown, the part Fastify leaves to us. `fastify.shutdown`
 * says whether SIGTERM has come (`draining`: /ready answers 503 while the
 * listener still serves) and whether the server is closing. From then on,
 * answers say `Connection: close`, so their keep-alive sockets end with them
 * (Node does not, and Fastify only does so for requests that arrive after
 * close). Checked in the request log's onRequest hook (requests that start
 * after SIGTERM) and where report and error answers are built (requests in
 * flight before it), not in an onSend hook of its own on every request.
 */
import fp from 'fastify-plugin'
import type { FastifyReply } from 'fastify'

export interface ShutdownState {
  /** SIGTERM received: readiness fails so the load balancer stops sending. */
  draining: boolean
  /** fastify.close() has begun. */
  closing: boolean
}

declare module 'fastify' {
  interface FastifyInstance {
    shutdown: ShutdownState
  }
}

/** Ends the answer's keep-alive socket with it once shutdown has begun. */
export function closeConnectionIfShuttingDown (reply: FastifyReply): void {
  // Absent only for errors met before the plugins are registered.
  const shutdown = reply.server.shutdown as ShutdownState | undefined
  if (shutdown !== undefined && (shutdown.draining || shutdown.closing)) reply.header('connection', 'close')
}

export default fp(async function gracefulClose (fastify) {
  const shutdown: ShutdownState = { draining: false, closing: false }
  fastify.decorate('shutdown', shutdown)
  fastify.addHook('preClose', (done) => {
    shutdown.closing = true
    done()
  })
}, { name: 'graceful-close' })

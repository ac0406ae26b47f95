/**
 * The Redis shared by the replicas (REDIS_URL), when there is one. Commands
 * fail at once while it is unreachable (no offline queue), so callers fall
 * back on local state instead of waiting; the client reconnects by itself.
 */
import fp from 'fastify-plugin'
import { Redis } from 'ioredis'

declare module 'fastify' {
  interface FastifyInstance {
    /** undefined without REDIS_URL. */
    redis: Redis | undefined
  }
}

export default fp<{ url?: string }>(async function redis (fastify, { url }) {
  if (url === undefined) {
    fastify.decorate('redis', undefined)
    return
  }
  const client = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    retryStrategy: () => 1_000,
    lazyConnect: true
  })
  let down = false
  client.on('error', (error: Error & { code?: string }) => {
    // One line when it goes, one when it comes back: not one a second while it is down.
    if (!down) fastify.log.warn({ code: error.code }, 'redis unreachable: replicas fall back on local budgets')
    down = true
  })
  client.on('ready', () => {
    if (down) fastify.log.info('redis reachable again')
    down = false
  })
  // Start even when Redis is down: the gateway serves with local state meanwhile.
  await client.connect().catch(() => {})
  fastify.decorate('redis', client)
  fastify.addHook('onClose', async () => { client.disconnect() })
}, { name: 'redis' })

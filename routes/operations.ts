/**
 * Liveness, readiness, metrics and the generated spec.
 */
import type { FastifyPluginAsync } from 'fastify'
import { Type } from 'typebox'

const operationsRoutes: FastifyPluginAsync = async (fastify) => {
  fastify.get('/health', {
    schema: {
      tags: ['operations'],
      summary: 'Liveness: the process answers.',
      response: { 200: Type.Object({ status: Type.Literal('ok') }) }
    }
  }, async () => ({ status: 'ok' as const }))

  const Readiness = Type.Object({ status: Type.Union([Type.Literal('ready'), Type.Literal('degraded')]), redis: Type.Optional(Type.String()) })
  fastify.get('/ready', {
    schema: {
      tags: ['operations'],
      summary: 'Readiness: the configuration is valid and, with REDIS_URL, Redis answers (503 `degraded` while it does not: budgets are local meanwhile).',
      response: { 200: Readiness, 503: Readiness }
    }
  }, async (_request, reply) => {
    const redis = fastify.redis
    if (redis === undefined) return { status: 'ready' as const }
    if (redis.status === 'ready') return { status: 'ready' as const, redis: 'ready' }
    return await reply.code(503).send({ status: 'degraded' as const, redis: redis.status })
  })

  fastify.get('/metrics', {
    schema: { tags: ['operations'], summary: 'Prometheus metrics: requests, cache, upstream calls and refusals, Apple quota, process.' }
  }, async (_request, reply) => {
    const { registry } = fastify.gatewayMetrics
    return await reply.type(registry.contentType).send(await registry.metrics())
  })

  fastify.get('/openapi.json', { schema: { hide: true } }, async () => fastify.swagger())
}

export default operationsRoutes

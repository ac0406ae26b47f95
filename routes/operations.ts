/**
 * Liveness, readiness, metrics and the generated spec.
 */
import type { FastifyPluginAsync } from 'fastify'
import { Type } from 'typebox'
import type { Config } from '../src/config.js'
import { metricsHandler } from '../plugins/metrics.js'

const operationsRoutes: FastifyPluginAsync<{ config: Config }> = async (fastify, { config }) => {
  fastify.get('/health', {
    schema: {
      tags: ['operations'],
      summary: 'Liveness: the process answers.',
      response: { 200: Type.Object({ status: Type.Literal('ok') }) }
    }
  }, async () => ({ status: 'ok' as const }))

  const Readiness = Type.Object({
    status: Type.Union([Type.Literal('ready'), Type.Literal('degraded'), Type.Literal('shutting_down')]),
    redis: Type.Optional(Type.String())
  })
  fastify.get('/ready', {
    schema: {
      tags: ['operations'],
      summary: 'Readiness: the configuration is valid and, with REDIS_URL, Redis answers (503 `degraded` while it does not: budgets are local meanwhile). ' +
        '503 `shutting_down` from SIGTERM on, while the gateway still answers for SHUTDOWN_DRAIN_MS.',
      response: { 200: Readiness, 503: Readiness }
    }
  }, async (_request, reply) => {
    if (fastify.shutdown.draining) return await reply.code(503).send({ status: 'shutting_down' as const })
    const redis = fastify.redis
    if (redis === undefined) return { status: 'ready' as const }
    if (redis.status === 'ready') return { status: 'ready' as const, redis: 'ready' }
    return await reply.code(503).send({ status: 'degraded' as const, redis: redis.status })
  })

  // With METRICS_PORT, /metrics is served on that port only (server.ts).
  if (config.metrics.port === undefined) {
    fastify.get('/metrics', {
      schema: {
        tags: ['operations'],
        summary: 'Prometheus metrics: requests, cache, upstream calls and refusals, Apple quota, process. ' +
          'With METRICS_API_KEY, only for `Authorization: Bearer <METRICS_API_KEY>`.'
      }
    }, metricsHandler(fastify, config.metrics.apiKey))
  }

  fastify.get('/openapi.json', { schema: { hide: true } }, async () => fastify.swagger())
}

export default operationsRoutes

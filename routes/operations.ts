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

  fastify.get('/ready', {
    schema: {
      tags: ['operations'],
      summary: 'Readiness: the configuration is valid and the gateway can serve.',
      response: { 200: Type.Object({ status: Type.Literal('ready') }) }
    }
  }, async () => ({ status: 'ready' as const }))

  fastify.get('/metrics', {
    schema: { tags: ['operations'], summary: 'Prometheus metrics: requests, cache, upstream calls and refusals, Apple quota, process.' }
  }, async (_request, reply) => {
    const { registry } = fastify.gatewayMetrics
    return await reply.type(registry.contentType).send(await registry.metrics())
  })

  fastify.get('/openapi.json', { schema: { hide: true } }, async () => fastify.swagger())
}

export default operationsRoutes

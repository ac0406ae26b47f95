/**
 * Liveness and the generated spec.
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

  fastify.get('/openapi.json', { schema: { hide: true } }, async () => fastify.swagger())
}

export default operationsRoutes

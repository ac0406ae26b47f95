/**
 * Swagger UI at /docs/, over the generated document.
 */
import fp from 'fastify-plugin'
import swaggerUi from '@fastify/swagger-ui'

export default fp<{ prefix?: string }>(async function docs (fastify, { prefix = '' }) {
  await fastify.register(swaggerUi, { routePrefix: `${prefix}/docs`, uiConfig: { docExpansion: 'list', deepLinking: true } })
}, { name: 'swagger-ui', dependencies: ['swagger'] })

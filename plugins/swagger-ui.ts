/**
 * Swagger UI at /docs/, over the generated document.
 */
import fp from 'fastify-plugin'
import swaggerUi from '@fastify/swagger-ui'

export default fp(async function docs (fastify) {
  await fastify.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list', deepLinking: true } })
}, { name: 'swagger-ui', dependencies: ['swagger'] })

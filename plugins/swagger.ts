/**
 * The OpenAPI 3.1 document, generated from the route schemas.
 */
import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import { directorySchema } from '../src/directory.js'
import { problemSchema } from '../src/problem.js'
import type { Provider } from '../src/provider.js'
import { usageReportSchema } from '../src/report.js'

type Parameter = { in?: string }
type Operation = { parameters?: Parameter[] }

/** Every operation's parameters: path, then query, then the rest, each in its own order. */
function pathParametersFirst<T> (document: T): T {
  const rank = (parameter: Parameter): number => parameter.in === 'path' ? 0 : parameter.in === 'query' ? 1 : 2
  const paths = (document as { paths?: Record<string, Record<string, Operation>> }).paths ?? {}
  for (const operations of Object.values(paths)) {
    for (const operation of Object.values(operations)) {
      // Array.prototype.sort is stable: the order within each place is kept.
      if (Array.isArray(operation.parameters)) operation.parameters.sort((a, b) => rank(a) - rank(b))
    }
  }
  return document
}

export interface SwaggerOptions {
  publicBaseUrl?: string
  /** The providers served: their names are the schemas' `provider` enum and the spec's tags. */
  providers: readonly Provider[]
}

export default fp<SwaggerOptions>(async function openapi (fastify, { publicBaseUrl, providers }) {
  const names = providers.map((provider) => provider.name)
  fastify.addSchema(problemSchema(names))
  fastify.addSchema(usageReportSchema(names))
  fastify.addSchema(directorySchema(names))
  await fastify.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Usage gateway',
        version: '0.1.0',
        description: 'One normalized `/usage` API over TestFlight metrics (App Store Connect) and WhatsApp usage and fees (Gupshup Partner API), with a cache that absorbs their rate limits. Every error is `application/problem+json`.'
      },
      // Behind an API gateway the spec names the public address; else clients use the one they reached.
      ...(publicBaseUrl === undefined ? {} : { servers: [{ url: publicBaseUrl }] }),
      tags: [
        ...providers.map((provider) => ({ name: provider.name, description: provider.tag.description })),
        { name: 'operations', description: 'Liveness and documentation' }
      ],
      components: {
        securitySchemes: {
          apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'A key of GATEWAY_API_KEYS (only enforced when the gateway has keys).' },
          bearer: { type: 'http', scheme: 'bearer', description: 'The same key as a bearer token.' }
        }
      }
    },
    // Path parameters first, in the order a caller fills them in (Fastify lists the query first).
    transformObject: (document) => pathParametersFirst('openapiObject' in document ? document.openapiObject : document.swaggerObject),
    // Name shared schemas by their $id in components.schemas.
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, index) => typeof json.$id === 'string' ? json.$id : `def-${index}` }
  })
}, { name: 'swagger' })

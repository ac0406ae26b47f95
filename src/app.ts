/**
 * The whole application as one Fastify plugin, plus the server options it
 * expects. server.ts starts it; tests build the same thing.
 */
import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import Fastify, { LogController, type FastifyInstance, type FastifyPluginAsync, type FastifyServerOptions } from 'fastify'
import fp from 'fastify-plugin'
import type { Dispatcher } from 'undici'
import type { Config } from './config.js'
import auth from '../plugins/auth.js'
import errorHandler from '../plugins/error-handler.js'
import reportReply from '../plugins/report-reply.js'
import requestLog from '../plugins/request-log.js'
import swagger from '../plugins/swagger.js'
import swaggerUi from '../plugins/swagger-ui.js'
import usage from '../plugins/usage.js'
import appleRoutes from '../routes/apple/index.js'
import gupshupRoutes from '../routes/gupshup/index.js'
import operationsRoutes from '../routes/operations.js'

export interface AppOptions {
  config: Config
  /** undici dispatcher for both upstreams (tests pass a MockAgent). */
  dispatcher?: Dispatcher
  /** The clock of the cache and of Apple tokens (tests pass a fake one). */
  now?: () => number
}

/** Where log lines go instead of stdout (tests read them). */
export interface LogStream { write: (line: string) => void }

/** A caller's X-Request-Id is kept when it is a plain token; anything else gets a fresh id. */
function requestIdOf (request: IncomingMessage): string {
  const header = request.headers['x-request-id']
  return typeof header === 'string' && /^[\w.:-]{1,128}$/.test(header) ? header : randomUUID()
}

export function serverOptions (config: Config, logStream?: LogStream): FastifyServerOptions {
  return {
    logger: {
      level: config.logLevel,
      ...(logStream === undefined ? {} : { stream: logStream }),
      // Nothing logs headers today; this keeps it so if something starts to.
      redact: { paths: ['req.headers.authorization', 'req.headers["x-api-key"]', '*.token', '*.privateKeyPem'], censor: '[redacted]' }
    },
    // plugins/request-log.ts writes the one line per request instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' }),
    genReqId: requestIdOf,
    // Ids are at most 100 characters; longer ones must reach the schema (400), not the router (404).
    routerOptions: { maxParamLength: 1000 },
    bodyLimit: 4096,
    return503OnClosing: true,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: true, allErrors: false } }
  }
}

const app: FastifyPluginAsync<AppOptions> = async (fastify, options) => {
  await fastify.register(errorHandler)
  await fastify.register(requestLog)
  await fastify.register(swagger)
  await fastify.register(swaggerUi)
  await fastify.register(auth, { apiKeys: options.config.apiKeys })
  await fastify.register(usage, options)
  await fastify.register(reportReply)
  await fastify.register(operationsRoutes)
  await fastify.register(async function usageRoutes (scope) {
    scope.addHook('onRequest', scope.verifyApiKey)
    await scope.register(appleRoutes)
    await scope.register(gupshupRoutes)
  })
}

// Not encapsulated: what the plugins decorate (swagger, usage) is the caller's too, as with fastify-cli.
const gatewayApp = fp(app, { name: 'usage-gateway' })
export default gatewayApp

/** A ready gateway instance, not yet listening. */
export async function buildApp (options: AppOptions, { logStream }: { logStream?: LogStream } = {}): Promise<FastifyInstance> {
  const fastify = Fastify(serverOptions(options.config, logStream))
  await fastify.register(gatewayApp, options)
  await fastify.ready()
  return fastify
}

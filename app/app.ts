/**
 * The whole application as one Fastify plugin, plus the server options it
 * expects. server.ts starts it; tests build the same thing.
 */
import { STATUS_CODES, type Server } from 'node:http'
import type { Duplex } from 'node:stream'
import { pino } from 'pino'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyHttpOptions, type FastifyInstance, type FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import type { Dispatcher } from 'undici'
import accountsReload from '../plugins/accounts-reload.js'
import auth from '../plugins/auth.js'
import errorHandler, { sendProblem } from '../plugins/error-handler.js'
import explorer from '../plugins/explorer.js'
import gracefulClose from '../plugins/graceful-close.js'
import metrics from '../plugins/metrics.js'
import redis from '../plugins/redis.js'
import rateLimit, { rateLimitOptions } from '../plugins/rate-limit.js'
import rememberedRequests, { forgetRememberedRequests } from '../plugins/remembered-requests.js'
import reportReply from '../plugins/report-reply.js'
import requestLog, { requestIdOf } from '../plugins/request-log.js'
import swagger from '../plugins/swagger.js'
import swaggerUi from '../plugins/swagger-ui.js'
import usage from '../plugins/usage.js'
import { providers as registry } from '../providers/index.js'
import catalogRoutes from '../routes/catalog.js'
import operationsRoutes from '../routes/operations.js'
import { reportRoutes } from '../routes/report-route.js'
import { KeyRing } from '../src/accounts/key-ring.js'
import type { Config, Env } from '../src/config.js'
import { ERRORS, type ErrorCode } from '../src/errors.js'
import type { Provider } from '../src/provider.js'
import { problemType } from '../src/problem.js'

export interface AppOptions {
  config: Config
  /** The providers served: the registry's unless given (a test adds one). */
  providers?: readonly Provider[]
  /** undici dispatcher for every upstream (tests pass a MockAgent). */
  dispatcher?: Dispatcher
  /** The clock of the cache and of Apple tokens (tests pass a fake one). */
  now?: () => number
  /** Providers answered by the built-in simulators (demo mode). */
  simulated?: readonly string[]
  /** Where ACCOUNTS_FILE's `…Env` fields are read on reload (process.env unless given). */
  env?: Env
}

/** Log fields that would carry a secret, at the top level or one object down. */
export const REDACTED_LOG_PATHS = [
  'req.headers.authorization', 'req.headers["x-api-key"]', 'headers.authorization', 'headers["x-api-key"]',
  ...['token', 'apiKey', 'privateKeyPem', 'secret', 'password'].flatMap((name) => [name, `*.${name}`])
]

/** Where log lines go instead of stdout (tests read them). */
export interface LogStream { write: (line: string) => void }

/** Where a LineBuffer writes: bytes, flushed on demand. */
export interface LogDestination { write: (chunk: Buffer) => unknown, flush: () => void, flushSync: () => void }

/**
 * Log lines gathered into writes of about 4 KiB: one write per dozen lines or
 * so instead of one per request. The lines wait in an array and go to the
 * destination joined and encoded once, so the destination neither measures nor
 * copies each line (sonic-boom's `minLength` buffering took Buffer.byteLength
 * of every line: 3% of a cache hit's CPU; and in its text mode it encodes each
 * write a second time once written: bench/NOTES.md).
 */
export class LineBuffer implements LogStream {
  private pending: string[] = []
  private length = 0

  constructor (private readonly destination: LogDestination, private readonly minLength = 4 * 1024) {}

  write (line: string): void {
    this.pending.push(line)
    this.length += line.length
    if (this.length >= this.minLength) this.drain()
  }

  /** Writes what is gathered (a quiet gateway's lines do not wait for the buffer to fill). */
  flush (): void {
    this.drain()
    this.destination.flush()
  }

  /** Writes what is gathered before the process exits. */
  flushSync (): void {
    this.drain()
    this.destination.flushSync()
  }

  private drain (): void {
    if (this.pending.length === 0) return
    const text = this.pending.join('')
    this.pending = []
    this.length = 0
    this.destination.write(Buffer.from(text))
  }
}

/**
 * Standard output, written synchronously (pino's default mode) in batches
 * of about 4 KiB (LineBuffer): 1.3 µs a line where sonic-boom's asynchronous
 * mode cost 4 µs (it measures its growing buffer on every line, and each
 * write is a thread pool round trip on the same core). server.ts flushes it
 * every second and on exit, so no line is lost at shutdown.
 */
export function bufferedStdout (): LineBuffer {
  // In buffer mode sonic-boom takes bytes, though its types say strings only.
  return new LineBuffer(pino.destination({ dest: 1, sync: true, contentMode: 'buffer' }) as unknown as LogDestination)
}

/** Node's client errors, as the catalog's codes. */
const CLIENT_ERRORS: Record<string, ErrorCode> = {
  HPE_HEADER_OVERFLOW: 'headers_too_large',
  ERR_HTTP_REQUEST_TIMEOUT: 'request_timeout'
}

/**
 * Requests Node refuses before Fastify sees them (oversized headers or URL,
 * malformed HTTP) still get a problem. The rest of the request is read and
 * dropped before the socket closes, so the client is not reset before it
 * reads the answer.
 */
function clientErrorHandler (error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return
  const code = CLIENT_ERRORS[error.code ?? ''] ?? 'bad_request'
  const { status, title } = ERRORS[code]
  const body = JSON.stringify({ type: problemType(code), title, status, detail: `The request was refused before routing (${title.toLowerCase()}).`, code })
  socket.resume()
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? title}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
  setTimeout(() => socket.destroy(), 1000).unref()
}

/**
 * Fastify's per-request logger, bound to the request id. pino's child() passes
 * every binding through the redaction's wildcard paths (3% of a cache hit's
 * CPU, bench/NOTES.md); the id is a plain token or a UUID (requestIdOf), so
 * its JSON is appended to the parent's bindings as pino itself would.
 */
function requestLogger (logger: FastifyBaseLogger, bindings: Record<string, unknown>, options: object): FastifyBaseLogger {
  const id = bindings.requestId
  if (typeof id !== 'string' || Object.keys(bindings).length !== 1 || Object.keys(options).length > 0) return logger.child(bindings, options)
  const parent = logger as unknown as Record<symbol, string>
  const child = Object.create(logger) as Record<symbol, string>
  child[pino.symbols.chindingsSym] = `${parent[pino.symbols.chindingsSym]},"requestId":${JSON.stringify(id)}`
  return child as unknown as FastifyBaseLogger
}

export function serverOptions (config: Config, logStream?: LogStream): FastifyHttpOptions<Server> {
  return {
    logger: {
      level: config.logLevel,
      ...(logStream === undefined ? {} : { stream: logStream }),
      // Nothing logs headers or credentials today; this keeps it so if something starts to.
      redact: { paths: REDACTED_LOG_PATHS, censor: '[redacted]' }
    },
    // plugins/request-log.ts writes the one line per request instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' }),
    genReqId: requestIdOf,
    childLoggerFactory: requestLogger,
    // Ids are at most 100 characters; longer ones must reach the schema (400), not the router (404).
    routerOptions: { maxParamLength: 1000 },
    bodyLimit: 4096,
    // Requests met while closing get a 503 problem from plugins/request-log.ts instead of Fastify's plain JSON.
    return503OnClosing: false,
    // Idle and slow-header sockets go after headersTimeout (checked every second, not Node's 30 s);
    // keep-alive sockets after keepAliveTimeout, below a fronting proxy's so it never reuses a closed one.
    http: { headersTimeout: config.server.headersTimeoutMs, connectionsCheckingInterval: 1000 },
    keepAliveTimeout: config.server.keepAliveTimeoutMs,
    // Fastify takes a hop count too (documented), though its types do not say so.
    trustProxy: config.trustProxy as boolean | string,
    clientErrorHandler,
    // Malformed URLs and over-long path parameters, met before routing, are problems too.
    frameworkErrors: sendProblem,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: true, allErrors: false } }
  }
}

const app: FastifyPluginAsync<AppOptions> = async (fastify, options) => {
  const providers: readonly Provider[] = options.providers ?? registry
  await fastify.register(errorHandler)
  await fastify.register(metrics, { providers })
  await fastify.register(gracefulClose)
  await fastify.register(requestLog)
  await fastify.register(swagger, { publicBaseUrl: options.config.publicBaseUrl, providers })
  await fastify.register(swaggerUi, { prefix: options.config.routePrefix })
  await fastify.register(explorer, { routePrefix: options.config.routePrefix, apiKeyRequired: options.config.apiKeys.length > 0 })
  const keys = new KeyRing(options.config.apiKeys)
  await fastify.register(auth, { keys })
  await fastify.register(redis, { url: options.config.redisUrl })
  await fastify.register(usage, { ...options, providers })
  // A remembered request answers without the usage service: after a reload, each takes the full path once more.
  await fastify.register(accountsReload, { config: options.config, providers, keys, env: options.env ?? process.env, onReloaded: forgetRememberedRequests })
  await fastify.register(reportReply)
  await fastify.register(operationsRoutes, { prefix: options.config.routePrefix, config: options.config })
  await fastify.register(async function usageRoutes (scope) {
    if (!options.config.authDisabled) scope.addHook('onRequest', scope.verifyApiKey)
    // Registered in this scope, it limits /usage only: health checks and docs stay unlimited.
    await scope.register(rateLimit, rateLimitOptions(options.config, scope.redis))
    // Repeat requests answered in front of Fastify, with the key check, limit, log line and metrics above.
    await scope.register(rememberedRequests)
    await scope.register(catalogRoutes, { config: options.config, providers, simulated: options.simulated ?? [] })
    await scope.register(reportRoutes(providers.flatMap((provider) => provider.endpoints), providers.flatMap((provider) => provider.directories ?? [])))
  }, { prefix: options.config.routePrefix })
}

// Not encapsulated: what the plugins decorate (swagger, usage) is the caller's too, as with fastify-cli.
const gatewayApp = fp(app, { name: 'usage-gateway' })

/** A ready gateway instance, not yet listening. */
export async function buildApp (options: AppOptions, { logStream }: { logStream?: LogStream } = {}): Promise<FastifyInstance> {
  const fastify = Fastify(serverOptions(options.config, logStream))
  await fastify.register(gatewayApp, options)
  await fastify.ready()
  return fastify
}

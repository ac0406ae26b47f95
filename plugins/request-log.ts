/**
 * One JSON log line per request (with the upstream calls made for it and
 * their time), the request's metrics, and the request id echoed to the
 * caller. One onRequest and one onResponse hook do all of it, and the body
 * refusal: each hook Fastify runs costs every request.
 */
import fp from 'fastify-plugin'
import type { FastifyBaseLogger } from 'fastify'
import { pino } from 'pino'
import { gatewayError } from '../src/errors.js'
import type { UpstreamTally } from '../src/upstream-timing.js'
import { closeConnectionIfShuttingDown } from './graceful-close.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** Upstream calls made for this request, and their time. */
    upstreamTally: UpstreamTally | null
  }
}

/** The request line's fields, in the order they are written. */
interface RequestLine {
  requestId: string
  method: string
  url: string
  route?: string
  caller?: string
  account?: string
  statusCode: number
  durationMs: number
  cache?: unknown
  upstreamCalls: number
  upstreamMs: number
}

const { chindingsSym, hooksSym, messageKeySym, mixinSym, streamSym, timeSym } = pino.symbols
// Not in pino's types, though it is among its symbols.
const msgPrefixSym = (pino.symbols as unknown as Record<string, symbol>).msgPrefixSym
const json = (value: unknown): string => value === undefined ? '' : JSON.stringify(value)

/**
 * Writes the request line as pino writes it with its default settings (level,
 * time, the logger's bindings, the fields, msg), without pino's generic
 * serialization: half the line's cost (bench/NOTES.md). A logger set up any
 * other way (a timestamp, mixin, hook or message key of its own) gets the
 * line through pino itself.
 */
function requestLineWriter (lines: FastifyBaseLogger): (line: RequestLine) => void {
  const logger = lines as unknown as Record<symbol, unknown> & { levels: { values: Record<string, number> } }
  const stream = logger[streamSym] as { write?: (text: string) => void } | undefined
  const hooks = logger[hooksSym] as { logMethod?: unknown, streamWrite?: unknown } | undefined
  const plain = typeof stream?.write === 'function' && logger[timeSym] === pino.stdTimeFunctions.epochTime && logger[messageKeySym] === 'msg' &&
    logger[mixinSym] == null && logger[msgPrefixSym] == null && hooks?.logMethod == null && hooks?.streamWrite == null && logger.levels.values.info === 30
  if (!plain || stream?.write === undefined) return (line) => { lines.info(line, 'request') }
  const write = stream.write.bind(stream)
  const bindings = logger[chindingsSym] as string
  const field = (name: string, value: unknown): string => value === undefined ? '' : `,"${name}":${json(value)}`
  return (line) => {
    if (!(lines as unknown as pino.Logger).isLevelEnabled('info')) return
    write(`{"level":30,"time":${Date.now()}${bindings},"requestId":${json(line.requestId)},"method":${json(line.method)},"url":${json(line.url)}` +
      `${field('route', line.route)}${field('caller', line.caller)}${field('account', line.account)},"statusCode":${line.statusCode},"durationMs":${line.durationMs}${field('cache', line.cache)}` +
      `,"upstreamCalls":${line.upstreamCalls},"upstreamMs":${line.upstreamMs},"msg":"request"}\n`)
  }
}

// Callback-style hooks: they run on every request, and skip a promise each.
export default fp(async function requestLog (fastify) {
  fastify.decorateRequest('upstreamTally', null)
  const { requestAnswered } = fastify.gatewayMetrics
  // The request line's fields are fixed and hold no secret, so it skips the redaction every other line gets:
  // with its wildcard paths, redaction cost more than the rest of the line (12.8 against 3.4 µs, bench/RESULTS.md).
  const writeLine = requestLineWriter(fastify.log.child({}, { redact: [] }))
  fastify.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id)
    // The upstream tally is made by the first upstream call's context (routes/report-route.ts): a hit needs none.
    closeConnectionIfShuttingDown(reply)
    // Fastify's own 503 while closing is not a problem and is not logged: this one is both.
    if (request.server.shutdown.closing) {
      done(gatewayError('shutting_down', 'This instance is shutting down; retry, and another will answer.', { retryAfterSeconds: 1 }))
      return
    }
    // Every route is a GET: a request that carries a body is refused before anything reads it.
    const { 'content-length': length, 'transfer-encoding': encoding } = request.headers
    if ((length !== undefined && length !== '0') || encoding !== undefined) {
      done(gatewayError('body_not_allowed', `${request.method} requests to this gateway take no body.`))
      return
    }
    done()
  })
  fastify.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url
    const cache = reply.getHeader('x-cache')
    requestAnswered(route ?? 'unmatched', request.method, reply.statusCode, reply.elapsedTime / 1000, cache)
    writeLine({
      requestId: request.id,
      method: request.method,
      url: request.url,
      route,
      // The verified key's name (never the key); absent when the gateway has no keys.
      caller: request.caller === '' ? undefined : request.caller,
      // The provider account(s) that answered, by name.
      account: request.upstreamTally?.account,
      statusCode: reply.statusCode,
      durationMs: Math.round(reply.elapsedTime * 100) / 100,
      cache,
      upstreamCalls: request.upstreamTally?.calls ?? 0,
      upstreamMs: Math.round((request.upstreamTally?.ms ?? 0) * 100) / 100
    })
    done()
  })
}, { name: 'request-log', dependencies: ['metrics', 'graceful-close'] })

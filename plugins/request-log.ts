/**
 * One JSON log line per request (with the upstream calls made for it and
 * their time), the request's metrics, and the request id echoed to the
 * caller. One onRequest and one onResponse hook do all of it, and the body
 * refusal: each hook Fastify runs costs every request.
 */
import { randomUUID } from 'node:crypto'
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'
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
  interface FastifyInstance {
    /** What records answers to requests with these facts (made once per remembered request, plugins/remembered-requests.ts). */
    requestRecord: (facts: RequestFacts) => RequestRecord
  }
}

/** A caller's X-Request-Id is kept when it is a plain token; anything else gets a fresh id. */
export function requestIdOf (request: IncomingMessage): string {
  const header = request.headers['x-request-id']
  return typeof header === 'string' && /^[\w.:-]{1,128}$/.test(header) ? header : randomUUID()
}

/** Every route is a GET: a request that carries a body is refused before anything reads it. */
export function carriesBody (headers: IncomingHttpHeaders): boolean {
  const { 'content-length': length, 'transfer-encoding': encoding } = headers
  return (length !== undefined && length !== '0') || encoding !== undefined
}

/** What a request line says besides its id, status and duration: the same for every repeat of a remembered request. */
export interface RequestFacts {
  method: string
  url: string
  route?: string
  /** The verified key's name (never the key); absent when the gateway has no keys. */
  caller?: string
  /** The provider account(s) that answered, by name. */
  account?: string
  cache?: unknown
  upstreamCalls: number
  upstreamMs: number
}

/** Records one answer to a request with these facts: its log line and its metrics. */
export type RequestRecord = (requestId: string, statusCode: number, durationMs: number) => void

const { chindingsSym, hooksSym, messageKeySym, mixinSym, streamSym, timeSym } = pino.symbols
// Not in pino's types, though it is among its symbols.
const msgPrefixSym = (pino.symbols as unknown as Record<string, symbol>).msgPrefixSym
const json = (value: unknown): string => value === undefined ? '' : JSON.stringify(value)
const hundredths = (ms: number): number => Math.round(ms * 100) / 100

/**
 * Writes the request line as pino writes it with its default settings (level,
 * time, the logger's bindings, then requestId, method, url, route, caller,
 * account, statusCode, durationMs, cache, upstreamCalls, upstreamMs, msg),
 * without pino's generic serialization: half the line's cost
 * (bench/NOTES.md). The facts are serialized once per writer: a remembered
 * request's writer is made once and reused. A logger set up any other way
 * (a timestamp, mixin, hook or message key of its own) gets the line through
 * pino itself.
 */
function requestLineWriter (lines: FastifyBaseLogger): (facts: RequestFacts) => RequestRecord {
  const logger = lines as unknown as Record<symbol, unknown> & { levels: { values: Record<string, number> } }
  const stream = logger[streamSym] as { write?: (text: string) => void } | undefined
  const hooks = logger[hooksSym] as { logMethod?: unknown, streamWrite?: unknown } | undefined
  const plain = typeof stream?.write === 'function' && logger[timeSym] === pino.stdTimeFunctions.epochTime && logger[messageKeySym] === 'msg' &&
    logger[mixinSym] == null && logger[msgPrefixSym] == null && hooks?.logMethod == null && hooks?.streamWrite == null && logger.levels.values.info === 30
  if (!plain || stream?.write === undefined) {
    return ({ method, url, route, caller, account, cache, upstreamCalls, upstreamMs }) => (requestId, statusCode, durationMs) => {
      const timing = { durationMs: hundredths(durationMs), cache, upstreamCalls, upstreamMs: hundredths(upstreamMs) }
      lines.info({ requestId, method, url, route, caller, account, statusCode, ...timing }, 'request')
    }
  }
  const write = stream.write.bind(stream)
  const start = '{"level":30,"time":'
  const bindings = `${logger[chindingsSym] as string},"requestId":`
  const field = (name: string, value: unknown): string => value === undefined ? '' : `,"${name}":${json(value)}`
  return (facts) => {
    const middle = `,"method":${json(facts.method)},"url":${json(facts.url)}${field('route', facts.route)}` +
      `${field('caller', facts.caller)}${field('account', facts.account)},"statusCode":`
    const end = `${field('cache', facts.cache)},"upstreamCalls":${facts.upstreamCalls},"upstreamMs":${hundredths(facts.upstreamMs)},"msg":"request"}\n`
    return (requestId, statusCode, durationMs) => {
      if (!(lines as unknown as pino.Logger).isLevelEnabled('info')) return
      write(`${start}${Date.now()}${bindings}${json(requestId)}${middle}${statusCode},"durationMs":${hundredths(durationMs)}${end}`)
    }
  }
}

// Callback-style hooks: they run on every request, and skip a promise each.
export default fp(async function requestLog (fastify) {
  fastify.decorateRequest('upstreamTally', null)
  const { requestObserver } = fastify.gatewayMetrics
  // The request line's fields are fixed and hold no secret, so it skips the redaction every other line gets:
  // with its wildcard paths, redaction cost more than the rest of the line (12.8 against 3.4 µs, bench/RESULTS.md).
  const lineWriter = requestLineWriter(fastify.log.child({}, { redact: [] }))
  const requestRecord = (facts: RequestFacts): RequestRecord => {
    const writeLine = lineWriter(facts)
    const observe = requestObserver(facts.route ?? 'unmatched', facts.method, facts.cache)
    return (requestId, statusCode, durationMs) => {
      observe(statusCode, durationMs / 1000)
      writeLine(requestId, statusCode, durationMs)
    }
  }
  fastify.decorate('requestRecord', requestRecord)
  fastify.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id)
    // The upstream tally is made by the first upstream call's context (routes/report-route.ts): a hit needs none.
    closeConnectionIfShuttingDown(reply)
    // Fastify's own 503 while closing is not a problem and is not logged: this one is both.
    if (request.server.shutdown.closing) {
      done(gatewayError('shutting_down', 'This instance is shutting down; retry, and another will answer.', { retryAfterSeconds: 1 }))
      return
    }
    if (carriesBody(request.headers)) {
      done(gatewayError('body_not_allowed', `${request.method} requests to this gateway take no body.`))
      return
    }
    done()
  })
  fastify.addHook('onResponse', (request, reply, done) => {
    requestRecord({
      method: request.method,
      url: request.url,
      route: request.routeOptions.url,
      caller: request.caller === '' ? undefined : request.caller,
      account: request.upstreamTally?.account,
      cache: reply.getHeader('x-cache'),
      upstreamCalls: request.upstreamTally?.calls ?? 0,
      upstreamMs: request.upstreamTally?.ms ?? 0
    })(request.id, reply.statusCode, reply.elapsedTime)
    done()
  })
}, { name: 'request-log', dependencies: ['metrics', 'graceful-close'] })

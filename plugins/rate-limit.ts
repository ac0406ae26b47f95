/**
 * Inbound rate limit: GATEWAY_RATE_LIMIT_PER_MINUTE per API key, per client
 * IP when auth is off, with @fastify/rate-limit's counting and headers.
 *
 * Its stores do the counting (the in-memory one, or with Redis the shared
 * one, the same Lua script), but one callback `onRequest` hook replaces the
 * plugin's own: that hook is async and wraps a synchronous in-memory count in
 * two promises and an awaited key generator, a few µs on every request
 * (bench/NOTES.md). Counts, windows and headers are the plugin's.
 */
import { createRequire } from 'node:module'
import type { IncomingMessage } from 'node:http'
import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import type { Redis } from 'ioredis'
import type { Config } from '../src/config.js'
import { gatewayError, type GatewayError } from '../src/errors.js'

/** A window's count so far and the milliseconds left in it. */
export interface Count { current: number, ttl: number }

/** A request's count: the store's answer, or its error. */
interface Counted { error: Error | null, count?: Count }

declare module 'fastify' {
  interface FastifyInstance {
    /** The inbound limit, for answers made before Fastify's request handling (plugins/remembered-requests.ts). */
    inboundLimit: InboundLimit
  }
}

export interface InboundLimit {
  /** Counts one request of `caller` (a verified key's name): `done` gets the count, at once with the in-memory store. */
  count: (caller: string, done: (error: Error | null, count?: Count) => void) => void
  /**
   * Whether a count lets the request through (not over the limit, and the store answered or may fail open); if so,
   * its `x-ratelimit-*` headers are added to `headers` (names and values in turn).
   */
  allows: (error: Error | null, count: Count | undefined, headers: string[]) => boolean
  /**
   * Hands a request counted before Fastify's request handling over to it: the hook answers from that count
   * (its 429, or the store's error) instead of counting the request a second time.
   */
  handOver: (request: IncomingMessage, error: Error | null, count?: Count) => void
}

const counted = Symbol('inbound limit: counted')
type CountedRequest = IncomingMessage & { [counted]?: Counted }

/** What @fastify/rate-limit's stores (store/LocalStore.js, store/RedisStore.js) offer. */
interface Store {
  incr: (key: string, callback: (error: Error | null, count?: Count) => void, timeWindow: number, max: number) => void
}

const require = createRequire(import.meta.url)
// Its stores are plain CommonJS files of the package, without types of their own.
const LocalStore = require('@fastify/rate-limit/store/LocalStore.js') as new (continueExceeding: boolean, exponentialBackoff: boolean, cache?: number) => Store
const RedisStore = require('@fastify/rate-limit/store/RedisStore.js') as new (continueExceeding: boolean, exponentialBackoff: boolean, redis: Redis, nameSpace: string) => Store

export interface InboundLimitOptions {
  max: number
  timeWindow: number
  /** With Redis, replicas count together (under nameSpace); without, each counts alone. */
  redis?: Redis
  nameSpace?: string
  /** While the store fails (Redis down), let requests through rather than fail them. */
  skipOnError?: boolean
  /** Whom a request is counted against: the verified key's name, or the client address when there is none. */
  keyGenerator: (request: { caller: string, ip: string }) => string
  /** The 429's error (ttl: milliseconds left in the window). */
  errorResponseBuilder: (request: FastifyRequest, context: { max: number, ttl: number, after: string }) => GatewayError
  /** Keys the in-memory store keeps (least recently used go first), as @fastify/rate-limit's default. */
  cache?: number
}

/** Keys the in-memory store keeps by default (@fastify/rate-limit's `cache`). */
const LOCAL_KEYS = 5000

/** `43 seconds`, `1 minute`: how @fastify/rate-limit words a wait within its one-minute window (@lukeed/ms, long form). */
export function waitWords (seconds: number): string {
  if (seconds >= 60) return `${Math.round(seconds / 60)} minute${seconds >= 90 ? 's' : ''}`
  return `${seconds} second${seconds === 1 ? '' : 's'}`
}

/** With Redis, replicas count together; while it is down, each lets requests through rather than fail them. */
export const rateLimitOptions = (config: Config, redis?: Redis): InboundLimitOptions => ({
  max: config.rateLimitPerMinute,
  timeWindow: 60_000,
  ...(redis === undefined ? {} : { redis, nameSpace: 'usage-gateway:inbound:', skipOnError: true }),
  // Keys arrive here already verified, as their name: the store never holds key material.
  keyGenerator: (request) => request.caller === '' ? `ip:${request.ip}` : `key:${request.caller}`,
  errorResponseBuilder: (_request, context) => gatewayError('rate_limited',
    `At most ${context.max} requests a minute per ${config.apiKeys.length > 0 ? 'API key' : 'client'}; retry after ${context.after}.`,
    { retryAfterSeconds: Math.ceil(context.ttl / 1000) })
})

// Registered with fastify-plugin, the hook applies to the scope that registers it (the /usage routes).
export default fp<InboundLimitOptions>(async function inboundLimit (fastify, options) {
  const { max, timeWindow, keyGenerator, errorResponseBuilder, skipOnError = false } = options
  const store = options.redis === undefined
    ? new LocalStore(false, false, options.cache ?? LOCAL_KEYS)
    : new RedisStore(false, false, options.redis, options.nameSpace ?? 'usage-gateway:inbound:')
  const limit = String(max)
  const allows = (error: Error | null, count: Count | undefined, headers: string[]): boolean => {
    if (error !== null && !skipOnError) return false
    // A failed store with skipOnError counts as an empty window, as in @fastify/rate-limit.
    const { current, ttl } = count ?? { current: 0, ttl: 0 }
    if (current > max) return false
    headers.push('x-ratelimit-limit', limit, 'x-ratelimit-remaining', String(max - current), 'x-ratelimit-reset', String(Math.ceil(ttl / 1000)))
    return true
  }
  fastify.decorate('inboundLimit', {
    count: (caller: string, done: (error: Error | null, count?: Count) => void) => { store.incr(keyGenerator({ caller, ip: '' }), done, timeWindow, max) },
    allows,
    handOver: (request: CountedRequest, error: Error | null, count?: Count) => { request[counted] = { error, count } }
  } satisfies InboundLimit)
  /** The request on, or its refusal: the store's error, or the 429. */
  const decide = (request: FastifyRequest, reply: FastifyReply, { error, count }: Counted, done: HookHandlerDoneFunction): void => {
    const headers: string[] = []
    if (allows(error, count, headers)) {
      for (let index = 0; index < headers.length; index += 2) reply.header(headers[index], headers[index + 1])
      done()
      return
    }
    if (error !== null) {
      done(error)
      return
    }
    const ttl = count?.ttl ?? 0
    const resetSeconds = String(Math.ceil(ttl / 1000))
    reply.header('x-ratelimit-limit', limit)
    reply.header('x-ratelimit-remaining', '0')
    reply.header('x-ratelimit-reset', resetSeconds)
    reply.header('retry-after', resetSeconds)
    done(errorResponseBuilder(request, { max, ttl, after: waitWords(Math.ceil(ttl / 1000)) }))
  }
  fastify.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
    const handedOver = (request.raw as CountedRequest)[counted]
    if (handedOver !== undefined) {
      decide(request, reply, handedOver, done)
      return
    }
    // The in-memory store answers synchronously, Redis later: either way, once.
    store.incr(keyGenerator(request), (error, count) => { decide(request, reply, { error, count }, done) }, timeWindow, max)
  })
}, { name: 'inbound-limit' })

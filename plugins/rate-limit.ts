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
import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import type { Redis } from 'ioredis'
import type { Config } from '../src/config.js'
import { gatewayError, type GatewayError } from '../src/errors.js'

/** A window's count so far and the milliseconds left in it. */
interface Count { current: number, ttl: number }

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
  /** Whom a request is counted against. */
  keyGenerator: (request: FastifyRequest) => string
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
  keyGenerator: (request: FastifyRequest) => request.caller === '' ? `ip:${request.ip}` : `key:${request.caller}`,
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
  fastify.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
    // The in-memory store answers synchronously, Redis later: either way, once.
    store.incr(keyGenerator(request), (error, answer) => {
      if (error !== null && !skipOnError) {
        done(error)
        return
      }
      // A failed store with skipOnError counts as an empty window, as in @fastify/rate-limit.
      const count = answer ?? { current: 0, ttl: 0 }
      const resetSeconds = Math.ceil(count.ttl / 1000)
      reply.header('x-ratelimit-limit', limit)
      reply.header('x-ratelimit-remaining', count.current > max ? '0' : String(max - count.current))
      reply.header('x-ratelimit-reset', String(resetSeconds))
      if (count.current <= max) {
        done()
        return
      }
      reply.header('retry-after', String(resetSeconds))
      done(errorResponseBuilder(request, { max, ttl: count.ttl, after: waitWords(resetSeconds) }))
    }, timeWindow, max)
  })
}, { name: 'inbound-limit' })

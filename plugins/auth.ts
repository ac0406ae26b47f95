/**
 * Inbound API keys: `X-API-Key: <key>` or `Authorization: Bearer <key>`,
 * compared in constant time. A verified key becomes the request's caller
 * (the key's name), which the inbound limit, the upstream shares, the log
 * line and the metrics reuse, and its grants (what it may see): the key is
 * hashed once per request, and no key material goes further. The keys are a
 * ring that SIGHUP replaces; while it is empty (development), every request
 * passes and sees everything. GATEWAY_AUTH=none leaves the hook out.
 * Failed key checks are limited per client address: after
 * AUTH_FAILURES_PER_MINUTE in a row, the address gets 429s for the rest of
 * the minute, so guessing is slow, and counted.
 */
import { timingSafeEqual } from 'node:crypto'
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'
import fp from 'fastify-plugin'
import { LRUCache } from 'lru-cache'
import { Counter } from 'prom-client'
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import type { ApiKey, Grants } from '../src/accounts/grants.js'
import type { KeyRing } from '../src/accounts/key-ring.js'
import { AuthThrottledError, UnauthorizedError } from '../src/errors.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** onRequest hook for routes that need a gateway API key (callback style: no promise per request). */
    verifyApiKey: (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void
    /**
     * The key a raw request presents when the ring has it and no failed check is pending from any address (else
     * undefined, and the request needs the full check): for answers made before Fastify's request handling.
     */
    knownKey: (request: IncomingMessage) => ApiKey | undefined
  }
  interface FastifyRequest {
    /** The verified key's name; '' when the gateway has no keys (or before the check). */
    caller: string
    /** What the verified key may see; null (everything) when the gateway has no keys. */
    grants: Grants | null
  }
}

/** Failed key checks one client address may make in a row, within a minute of its first. */
export const AUTH_FAILURES_PER_MINUTE = 10
const FAILURE_WINDOW_MS = 60_000

/** A key verified on a connection, against which ring, as the bytes it was sent as. */
interface Verified { generation: number, presented: Buffer, key: ApiKey }

/** Keys remembered per connection: a proxy's pooled connection carries several callers' requests. */
const VERIFIED_PER_CONNECTION = 4

/** The key a request presents, if any. */
export function presentedKey (headers: IncomingHttpHeaders): string | undefined {
  const header = headers['x-api-key']
  if (typeof header === 'string' && header !== '') return header
  return /^Bearer\s+(\S+)$/i.exec(headers.authorization ?? '')?.[1]
}

export default fp<{ keys: KeyRing, now?: () => number }>(async function auth (fastify, options) {
  const now = options.now ?? Date.now
  const { keys } = options
  /** Failed checks in a row per client address; the entry lapses a minute after the first. */
  const failures = new LRUCache<string, { count: number, since: number }>({ max: 100_000, ttl: FAILURE_WINDOW_MS, perf: { now }, ttlResolution: 0 })
  const failed = fastify.hasDecorator('gatewayMetrics')
    ? new Counter({ name: 'gateway_auth_failures_total', help: 'Failed key checks: unauthorized (401), or throttled (429: too many from one address).', labelNames: ['outcome'], registers: [fastify.gatewayMetrics.registry] })
    : undefined
  const refuse = (request: FastifyRequest, error: UnauthorizedError): UnauthorizedError => {
    const state = failures.get(request.ip)
    if (state === undefined) failures.set(request.ip, { count: 1, since: now() })
    else state.count++
    failed?.inc({ outcome: 'unauthorized' })
    return error
  }
  fastify.decorateRequest('caller', '')
  fastify.decorateRequest('grants', null)
  /**
   * Per keep-alive connection, the keys last verified on it: the same key on a later request is compared with them
   * (in constant time) instead of digested again (2.4 µs a request, bench/NOTES.md). Only a key that passed on
   * that connection is kept, and only for the ring it passed against.
   */
  const verifiedOn = new WeakMap<object, Verified[]>()
  const find = (socket: object, presented: string): ApiKey | undefined => {
    const verified = verifiedOn.get(socket)
    const bytes = Buffer.from(presented)
    if (verified !== undefined) {
      for (const known of verified) {
        if (known.generation === keys.generation && known.presented.length === bytes.length && timingSafeEqual(bytes, known.presented)) return known.key
      }
    }
    const found = keys.find(presented)
    if (found === undefined) return undefined
    const current = verified?.filter((known) => known.generation === keys.generation).slice(1 - VERIFIED_PER_CONNECTION) ?? []
    verifiedOn.set(socket, [...current, { generation: keys.generation, presented: bytes, key: found }])
    return found
  }
  /** The caller's key, or the error that refuses the request. */
  const check = (request: FastifyRequest): { name: string, grants: Grants } | Error => {
    const state = failures.size === 0 ? undefined : failures.get(request.ip)
    if (state !== undefined && state.count >= AUTH_FAILURES_PER_MINUTE) {
      failed?.inc({ outcome: 'throttled' })
      return new AuthThrottledError(Math.max(1, Math.ceil((state.since + FAILURE_WINDOW_MS - now()) / 1000)))
    }
    const key = presentedKey(request.headers)
    if (key === undefined) return refuse(request, new UnauthorizedError('Send a gateway API key as `X-API-Key: <key>` or `Authorization: Bearer <key>`.'))
    const found = find(request.raw.socket, key)
    if (found === undefined) return refuse(request, new UnauthorizedError('The API key is not valid for this gateway.'))
    // A valid key ends the run of failures.
    if (state !== undefined) failures.delete(request.ip)
    return found
  }
  /** Lapsed failures stay counted in `failures.size` until purged: at most once a second. */
  let purged = 0
  const failurePending = (): boolean => {
    if (failures.size === 0) return false
    if (now() - purged >= 1000) {
      purged = now()
      failures.purgeStale()
    }
    return failures.size !== 0
  }
  fastify.decorate('knownKey', (request: IncomingMessage) => {
    // A pending failure is per client address, which only the full check works out (trustProxy).
    if (keys.size === 0 || failurePending()) return undefined
    const key = presentedKey(request.headers)
    return key === undefined ? undefined : find(request.socket, key)
  })
  fastify.decorate('verifyApiKey', (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) => {
    // No keys (development): every request passes and sees everything.
    if (keys.size === 0) {
      done()
      return
    }
    const caller = check(request)
    if (caller instanceof Error) {
      done(caller)
      return
    }
    request.caller = caller.name
    request.grants = caller.grants
    done()
  })
}, { name: 'auth' })

/**
 * Inbound rate limit (@fastify/rate-limit): GATEWAY_RATE_LIMIT_PER_MINUTE
 * per API key, per client IP when auth is off.
 */
import { createHash } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import type { RateLimitPluginOptions } from '@fastify/rate-limit'
import type { Redis } from 'ioredis'
import type { Config } from '../src/config.js'
import { GatewayError } from '../src/errors.js'
import { presentedKey } from './auth.js'

export { default } from '@fastify/rate-limit'

/** With Redis, replicas count together; while it is down, each lets requests through rather than fail them. */
export const rateLimitOptions = (config: Config, redis?: Redis): RateLimitPluginOptions => ({
  max: config.rateLimitPerMinute,
  timeWindow: 60_000,
  ...(redis === undefined ? {} : { redis, nameSpace: 'usage-gateway:inbound:', skipOnError: true }),
  // Keys arrive here already verified; the store holds their digest, never the key.
  keyGenerator: (request: FastifyRequest) => {
    const key = config.apiKeys.length > 0 ? presentedKey(request) : undefined
    return key === undefined ? `ip:${request.ip}` : `key:${createHash('sha256').update(key).digest('hex').slice(0, 16)}`
  },
  errorResponseBuilder: (_request, context) => new GatewayError({
    status: 429,
    code: 'rate_limited',
    title: 'Too many requests',
    detail: `At most ${context.max} requests a minute per ${config.apiKeys.length > 0 ? 'API key' : 'client'}; retry after ${context.after}.`,
    retryAfterSeconds: Math.ceil(context.ttl / 1000)
  })
})

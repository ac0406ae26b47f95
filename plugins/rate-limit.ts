/**
 * Inbound rate limit (@fastify/rate-limit): GATEWAY_RATE_LIMIT_PER_MINUTE
 * per API key, per client IP when auth is off.
 */
import type { FastifyRequest } from 'fastify'
import type { RateLimitPluginOptions } from '@fastify/rate-limit'
import type { Redis } from 'ioredis'
import type { Config } from '../src/config.js'
import { gatewayError } from '../src/errors.js'

export { default } from '@fastify/rate-limit'

/** With Redis, replicas count together; while it is down, each lets requests through rather than fail them. */
export const rateLimitOptions = (config: Config, redis?: Redis): RateLimitPluginOptions => ({
  max: config.rateLimitPerMinute,
  timeWindow: 60_000,
  ...(redis === undefined ? {} : { redis, nameSpace: 'usage-gateway:inbound:', skipOnError: true }),
  // Keys arrive here already verified, as their name: the store never holds key material.
  keyGenerator: (request: FastifyRequest) => request.caller === '' ? `ip:${request.ip}` : `key:${request.caller}`,
  errorResponseBuilder: (_request, context) => gatewayError('rate_limited',
    `At most ${context.max} requests a minute per ${config.apiKeys.length > 0 ? 'API key' : 'client'}; retry after ${context.after}.`,
    { retryAfterSeconds: Math.ceil(context.ttl / 1000) })
})

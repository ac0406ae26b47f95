/**
 * The usage service: the providers' clients, the response cache, and what
 * answers a report request from them. Closes the upstream pools on close.
 */
import fp from 'fastify-plugin'
import type { Dispatcher } from 'undici'
import type { Config } from '../src/config.js'
import { ReportCache } from '../src/cache/report-cache.js'
import { AppleClient } from '../src/providers/apple/client.js'
import { AppleTokenSigner } from '../src/providers/apple/token.js'
import { GupshupClient } from '../src/providers/gupshup/client.js'
import { UpstreamHttp } from '../src/upstream/http.js'
import { UsageService, type ReportSources } from '../src/usage-service.js'

declare module 'fastify' {
  interface FastifyInstance {
    usage: UsageService
  }
}

export interface UsagePluginOptions {
  config: Config
  /** undici dispatcher for both upstreams (tests pass a MockAgent). */
  dispatcher?: Dispatcher
  now?: () => number
}

/** How long past its TTL a cached report may still be answered. */
const MAX_STALE_MS = 24 * 3_600_000

export default fp<UsagePluginOptions>(async function usage (fastify, { config, dispatcher, now }) {
  const { apple, gupshup, upstreamTimeoutMs: timeoutMs } = config
  const sources: ReportSources = {}
  const clients: Array<{ close: () => Promise<void> }> = []
  if (apple.credentials !== undefined) {
    const client = new AppleClient(new UpstreamHttp({ provider: 'apple', baseUrl: apple.baseUrl, timeoutMs, dispatcher }), new AppleTokenSigner(apple.credentials, now))
    sources.apple = client
    clients.push(client)
  }
  if (Object.keys(gupshup.appTokens).length > 0) {
    const client = new GupshupClient(new UpstreamHttp({ provider: 'gupshup', baseUrl: gupshup.baseUrl, timeoutMs, dispatcher }), gupshup.appTokens)
    sources.gupshup = client
    clients.push(client)
  }
  const cache = new ReportCache({ maxBytes: config.cache.maxBytes, maxStaleMs: MAX_STALE_MS, now })
  fastify.decorate('usage', new UsageService({ cache, sources, ttlOverrideSeconds: config.cache.ttlOverrideSeconds }))
  fastify.addHook('onClose', async () => { await Promise.all(clients.map(async (client) => { await client.close() })) })
}, { name: 'usage' })

/**
 * The usage service: the providers' clients with their budgets, the
 * caches, and what answers a report request from them. Closes the upstream
 * pools on close.
 */
import fp from 'fastify-plugin'
import type { Dispatcher } from 'undici'
import type { Config } from '../src/config.js'
import { DayCache } from '../src/cache/day-cache.js'
import { ReportCache } from '../src/cache/report-cache.js'
import { SharedReportStore } from '../src/cache/shared-store.js'
import { AppleClient } from '../src/providers/apple/client.js'
import { AppleTokenSigner } from '../src/providers/apple/token.js'
import { GupshupClient } from '../src/providers/gupshup/client.js'
import { GupshupTokens } from '../src/providers/gupshup/tokens.js'
import { AppleQuota, BackoffGate, SlidingWindowBudget, type Budget } from '../src/upstream/budget.js'
import { CallQueue } from '../src/upstream/call-queue.js'
import { CallerShares } from '../src/upstream/caller-shares.js'
import { SharedSlidingWindowBudget } from '../src/upstream/shared-budget.js'
import type { CallGuard } from '../src/upstream/guarded-call.js'
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

const MINUTE_MS = 60_000
const HOUR_MS = 60 * MINUTE_MS
/** Gupshup's minute is measured by its clock, not ours: one more second keeps clear of it. */
const GUPSHUP_WINDOW_MS = MINUTE_MS + 1_000
const RETRIES = { maxRetries: 2, retryBaseMs: 200 }
/** Gupshup reads at most 31 days a call. */
const MAX_WINDOW_DAYS = 31

export default fp<UsagePluginOptions>(async function usage (fastify, { config, dispatcher, now = Date.now }) {
  const { apple, gupshup, upstreamTimeoutMs: timeoutMs } = config
  const observer = fastify.gatewayMetrics.observer
  const share = config.upstreamSharePerCaller
  const maxBackoffMs = config.upstreamMaxBackoffSeconds * 1000
  // The gateway's own doubling back-off stops at ten minutes, or at the cap when lower.
  const backoff = (baseMs: number): BackoffGate => new BackoffGate(Math.min(baseMs, maxBackoffMs), Math.min(10 * MINUTE_MS, maxBackoffMs), now)
  const sources: ReportSources = {}
  const clients: Array<{ close: () => Promise<void> }> = []
  if (apple.credentials !== undefined) {
    const quota = new AppleQuota(apple.quotaReserve, MINUTE_MS, now)
    const guard = {
      provider: 'apple' as const,
      budget: quota,
      gate: backoff(10_000),
      timeoutMs,
      ...RETRIES,
      maxBackoffMs,
      // Apple's window is its hour, of what Apple last said it allows.
      shares: new CallerShares({ share, windowMs: HOUR_MS, limitOf: (key) => quota.hourlyLimit(key), now }),
      queue: new CallQueue({ provider: 'apple', concurrency: apple.maxConcurrency, maxPending: apple.maxPending }),
      observer,
      onResponse: (key: string, response: { headers: Record<string, string | string[] | undefined> }) => { quota.observe(key, response.headers['x-rate-limit']) }
    }
    const http = new UpstreamHttp({ provider: 'apple', baseUrl: apple.baseUrl, timeoutMs, connections: apple.maxConcurrency, dispatcher })
    const client = new AppleClient(http, new AppleTokenSigner(apple.credentials, now), guard, apple.credentials.keyId, quota)
    sources.apple = client
    clients.push(client)
  }
  /**
   * Gupshup's limits hold across replicas when they share Redis; while Redis
   * is down each replica keeps to half the limit (the conservative share of two replicas).
   */
  const gupshupBudget = (name: string, limit: number): Budget => {
    const redis = fastify.redis
    if (redis === undefined) return new SlidingWindowBudget(limit, GUPSHUP_WINDOW_MS, now)
    const fallback = new SlidingWindowBudget(Math.max(1, Math.floor(limit / 2)), GUPSHUP_WINDOW_MS, now)
    return new SharedSlidingWindowBudget(redis, `gupshup:${name}`, limit, GUPSHUP_WINDOW_MS, fallback)
  }
  if (Object.keys(gupshup.appTokens).length > 0 || gupshup.partner !== undefined) {
    const http = new UpstreamHttp({ provider: 'gupshup', baseUrl: gupshup.baseUrl, timeoutMs, dispatcher })
    const gupshupGuard = (budget: Budget, limit: number): CallGuard => ({
      provider: 'gupshup' as const,
      budget,
      gate: backoff(MINUTE_MS),
      timeoutMs,
      ...RETRIES,
      maxBackoffMs,
      shares: new CallerShares({ share, windowMs: GUPSHUP_WINDOW_MS, limitOf: () => limit, now }),
      observer
    })
    // Gupshup's partner login is limited to 10 a minute, like its app tokens; so are the partner's token fetches here.
    const tokens = new GupshupTokens({
      http,
      appTokens: gupshup.appTokens,
      partner: gupshup.partner,
      loginBudget: gupshupBudget('login', 10),
      tokenGuard: gupshupGuard(gupshupBudget('tokens', gupshup.rateLimitPerMinute), gupshup.rateLimitPerMinute),
      observer,
      now
    })
    const guard = gupshupGuard(gupshupBudget('calls', gupshup.rateLimitPerMinute), gupshup.rateLimitPerMinute)
    const client = new GupshupClient(http, tokens, guard, now)
    sources.gupshup = client
    clients.push(client)
  }
  const maxStaleMs = config.cache.staleIfErrorSeconds * 1000
  // Three quarters of the bound for whole reports, a quarter for Gupshup's days.
  const cache = new ReportCache({
    maxBytes: Math.floor(config.cache.maxBytes * 0.75),
    maxStaleMs,
    now,
    onEvict: () => { observer.cacheEvicted('reports') },
    shared: fastify.redis === undefined ? undefined : new SharedReportStore(fastify.redis),
    sharedWaitMs: timeoutMs
  })
  const days = new DayCache({ maxBytes: Math.floor(config.cache.maxBytes * 0.25), maxStaleMs, maxWindowDays: MAX_WINDOW_DAYS, now, onEvict: () => { observer.cacheEvicted('days') } })
  fastify.decorate('usage', new UsageService({
    cache,
    days,
    sources,
    ttlOverrideSeconds: config.cache.ttlOverrideSeconds,
    maxPages: config.maxPages,
    // paging.next: where callers reach the gateway, then any prefix the routes are served under.
    publicBaseUrl: (config.publicBaseUrl ?? '') + config.routePrefix,
    now,
    refreshFloorMs: config.cache.refreshFloorSeconds * 1000,
    onBackgroundError: (error) => { fastify.log.warn({ code: (error as { code?: string }).code }, 'background refresh failed; the stale answer stands') }
  }))
  fastify.addHook('onClose', async () => { await Promise.all(clients.map(async (client) => { await client.close() })) })
}, { name: 'usage', dependencies: ['metrics', 'redis'] })

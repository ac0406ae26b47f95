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
import { DEFAULT_ACCOUNT } from '../src/accounts/accounts-file.js'
import { AccountSet, accountSections, type SourceFactory } from '../src/accounts/account-set.js'
import { accountObserver } from '../src/observer.js'
import type { Provider, SourceDeps } from '../src/provider.js'
import { BackoffGate, SlidingWindowBudget, type Budget } from '../src/upstream/budget.js'
import { CallerShares } from '../src/upstream/caller-shares.js'
import { SharedSlidingWindowBudget } from '../src/upstream/shared-budget.js'
import { UsageService } from '../src/usage-service.js'

declare module 'fastify' {
  interface FastifyInstance {
    usage: UsageService
    /** Each provider's accounts and their sources (replaced on SIGHUP by plugins/accounts-reload.ts). */
    accounts: AccountSet
  }
}

export interface UsagePluginOptions {
  config: Config
  /** The providers served (the registry's, unless a test adds one). */
  providers: readonly Provider[]
  /** undici dispatcher for every upstream (tests pass a MockAgent). */
  dispatcher?: Dispatcher
  now?: () => number
}

const MINUTE_MS = 60_000
const RETRIES = { maxRetries: 2, retryBaseMs: 200 }
/** The longest window a per-day source reads in one call (Gupshup's limit: 31 days). */
const MAX_WINDOW_DAYS = 31

export default fp<UsagePluginOptions>(async function usage (fastify, { config, providers, dispatcher, now = Date.now }) {
  const { upstreamTimeoutMs: timeoutMs } = config
  const observer = fastify.gatewayMetrics.observer
  /**
   * An upstream's limits hold across replicas when they share Redis; while Redis
   * is down each replica keeps to half the limit (the conservative share of two replicas).
   */
  const budgetOf = (prefix: string) => (name: string, limit: number, windowMs: number): Budget => {
    const redis = fastify.redis
    if (redis === undefined) return new SlidingWindowBudget(limit, windowMs, now)
    const fallback = new SlidingWindowBudget(Math.max(1, Math.floor(limit / 2)), windowMs, now)
    return new SharedSlidingWindowBudget(redis, `${prefix}:${name}`, limit, windowMs, fallback)
  }
  const share = config.upstreamSharePerCaller
  const maxBackoffMs = config.upstreamMaxBackoffSeconds * 1000
  /** Each account's source has its own budgets, back-off, shares, queue and tokens; its calls are counted under its name. */
  const sourceOf: SourceFactory = (provider, account, section) => provider.createSource(section, {
    dispatcher,
    now,
    timeoutMs,
    retries: RETRIES,
    observer: accountObserver(observer, account),
    // The environment's account keeps the budget names of a single-account gateway (replicas mid-upgrade agree).
    budget: budgetOf(account === DEFAULT_ACCOUNT ? provider.name : `${provider.name}:${account}`),
    maxBackoffMs,
    // The gateway's own doubling back-off stops at ten minutes, or at the cap when lower.
    backoff: (baseMs) => new BackoffGate(Math.min(baseMs, maxBackoffMs), Math.min(10 * MINUTE_MS, maxBackoffMs), now),
    shares: (windowMs, limitOf) => new CallerShares({ share, windowMs, limitOf, now })
  } satisfies SourceDeps)
  const sections = accountSections(providers, config.providers as Record<string, unknown>, config.accounts as Record<string, Record<string, unknown>>)
  // A dropped account's source is closed once requests in flight on it have had their upstream timeout.
  const accounts = new AccountSet(providers, sourceOf, sections, timeoutMs + 1_000)
  const maxStaleMs = config.cache.staleIfErrorSeconds * 1000
  // Three quarters of the bound for whole reports, a quarter for the per-day reports' days.
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
    accounts,
    providers,
    ttlOverrideSeconds: config.cache.ttlOverrideSeconds,
    maxPages: config.maxPages,
    // paging.next: where callers reach the gateway, then any prefix the routes are served under.
    publicBaseUrl: (config.publicBaseUrl ?? '') + config.routePrefix,
    now,
    refreshFloorMs: config.cache.refreshFloorSeconds * 1000,
    observer,
    fanOutWindowMs: timeoutMs,
    directories: providers.flatMap((provider) => provider.directories ?? []),
    onBackgroundError: (error) => { fastify.log.warn({ code: (error as { code?: string }).code }, 'background refresh failed; the stale answer stands') }
  }))
  fastify.decorate('accounts', accounts)
  fastify.addHook('onClose', async () => { await accounts.close() })
}, { name: 'usage', dependencies: ['metrics', 'redis'] })

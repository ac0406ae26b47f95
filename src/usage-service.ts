/**
 * Answers a report request: from the cache when it can, else from the
 * provider, normalized and serialized once. Remembers upstream 404s briefly
 * so a caller cannot spend the upstream budget on a missing id.
 */
import { LRUCache } from 'lru-cache'
import { NotFoundError, ProviderNotConfiguredError, TooManyPagesError } from './errors.js'
import { etagOf, type CacheAnswer, type ReportCache } from './cache/report-cache.js'
import type { DayCache, DayRow } from './cache/day-cache.js'
import { addDays, isoDay } from './days.js'
import type { QueryValues } from './providers/endpoint.js'
import type { AppleEndpoint } from './providers/apple/endpoints.js'
import type { GupshupEndpoint } from './providers/gupshup/endpoints.js'
import { rangeOf } from './providers/gupshup/normalize.js'
import { guessMetric, totalsOf, type FetchedReport, type UsageReport } from './report.js'

export type AnyEndpoint = AppleEndpoint | GupshupEndpoint

export interface AppleSource {
  fetchReport: (endpoint: AppleEndpoint, id: string, query: QueryValues) => Promise<FetchedReport>
  /** Apple's last X-Rate-Limit figures, per key id. */
  quota?: () => Record<string, Record<string, number>>
}

export interface GupshupSource {
  assertKnownApp: (appId: string) => void
  fetchDays: (endpoint: GupshupEndpoint, appId: string, from: string, to: string) => Promise<Map<string, DayRow>>
  fetchReport: (endpoint: GupshupEndpoint, appId: string, query: QueryValues) => Promise<FetchedReport>
  reportOf: (endpoint: GupshupEndpoint, appId: string, days: Array<[string, DayRow | null]>) => FetchedReport
}

export interface ReportSources {
  apple?: AppleSource
  gupshup?: GupshupSource
}

export interface UsageServiceOptions {
  cache: ReportCache
  days: DayCache
  sources: ReportSources
  /** CACHE_TTL_SECONDS: overrides every report's TTL when set. */
  ttlOverrideSeconds?: number
  /** Most pages one `all=true` request follows. */
  maxPages?: number
  /** PUBLIC_BASE_URL: makes paging.next absolute. */
  publicBaseUrl?: string
  now?: () => number
  /** A background refresh failed (the caller already has its STALE answer). */
  onBackgroundError?: (error: unknown) => void
}

/** How long an upstream 404 is remembered. */
const NOT_FOUND_TTL_MS = 60_000

/** `a=1&b=2` with keys sorted and undefined values left out: one spelling per request. */
export function canonicalQuery (query: QueryValues): string {
  let search = ''
  for (const name of Object.keys(query).sort()) {
    const value = query[name]
    if (value !== undefined) search += `${search === '' ? '' : '&'}${encodeURIComponent(name)}=${encodeURIComponent(String(value))}`
  }
  return search
}

/** The gateway path of a route for one subject and query. */
export function gatewayPath (endpoint: AnyEndpoint, id: string, query: QueryValues): string {
  const path = endpoint.route.replace(`:${endpoint.subject.param}`, encodeURIComponent(id))
  const search = canonicalQuery(query)
  return search === '' ? path : `${path}?${search}`
}

function serialize ({ nextCursor, ...fetched }: FetchedReport, next: string | null): string {
  const report: UsageReport = { ...fetched, paging: { ...fetched.paging, next } }
  return JSON.stringify(report)
}

export class UsageService {
  private readonly cache: ReportCache
  private readonly days: DayCache
  private readonly sources: ReportSources
  private readonly ttlOverrideSeconds?: number
  private readonly now: () => number
  private readonly onBackgroundError: (error: unknown) => void
  private readonly notFound: LRUCache<string, NotFoundError>
  private readonly notFoundTtlMs: number
  private readonly maxPages: number
  private readonly publicBaseUrl: string

  constructor (options: UsageServiceOptions) {
    this.cache = options.cache
    this.days = options.days
    this.sources = options.sources
    this.ttlOverrideSeconds = options.ttlOverrideSeconds
    this.now = options.now ?? Date.now
    this.onBackgroundError = options.onBackgroundError ?? (() => {})
    this.maxPages = options.maxPages ?? 50
    this.publicBaseUrl = options.publicBaseUrl ?? ''
    this.notFoundTtlMs = Math.min(NOT_FOUND_TTL_MS, (options.ttlOverrideSeconds ?? Number.POSITIVE_INFINITY) * 1000)
    this.notFound = new LRUCache({ max: 10_000, ttl: Math.max(1, this.notFoundTtlMs), perf: { now: this.now }, ttlResolution: 0 })
  }

  /** What the caches hold and Apple's last quota figures, for metrics. */
  stats (): { reportBytes: number, reportEntries: number, dayBytes: number, dayEntries: number, appleQuota: Record<string, Record<string, number>> } {
    return {
      reportBytes: this.cache.bytes,
      reportEntries: this.cache.entries,
      dayBytes: this.days.bytes,
      dayEntries: this.days.entries,
      appleQuota: this.sources.apple?.quota?.() ?? {}
    }
  }

  /** Cache key: the report and its normalized inputs (never the caller's identity). */
  keyOf (endpoint: AnyEndpoint, id: string, query: QueryValues): string {
    return `${endpoint.key}:${id}?${canonicalQuery(query)}`
  }

  async report (endpoint: AnyEndpoint, id: string, query: QueryValues, forceRefresh = false): Promise<CacheAnswer> {
    const subject = `${endpoint.provider}:${endpoint.subject.type}:${id}`
    const missing = forceRefresh ? undefined : this.notFound.get(subject)
    if (missing !== undefined) throw missing
    try {
      if (endpoint.provider === 'gupshup' && endpoint.daily !== undefined) return await this.dailyReport(endpoint, endpoint.daily, id, query, forceRefresh)
      if (query.all === true) return await this.allPages(endpoint, id, query, forceRefresh)
      return await this.cachedReport(endpoint, id, query, forceRefresh)
    } catch (error) {
      if (error instanceof NotFoundError && this.notFoundTtlMs > 0) this.notFound.set(subject, error)
      throw error
    }
  }

  private ttlMs (ttlSeconds: number): number {
    return (this.ttlOverrideSeconds ?? ttlSeconds) * 1000
  }

  /** Asks the endpoint's provider for a report; throws when the provider is not configured. */
  private fetcherOf (endpoint: AnyEndpoint, id: string, query: QueryValues): () => Promise<FetchedReport> {
    if (endpoint.provider === 'apple') {
      const source = this.sources.apple
      if (source === undefined) throw new ProviderNotConfiguredError('apple')
      return async () => await source.fetchReport(endpoint, id, query)
    }
    const source = this.sources.gupshup
    if (source === undefined) throw new ProviderNotConfiguredError('gupshup')
    source.assertKnownApp(id)
    return async () => await source.fetchReport(endpoint, id, query)
  }

  /** A report cached whole: fresh for its TTL, longer once every day it covers is settled. */
  private async cachedReport (endpoint: AnyEndpoint, id: string, query: QueryValues, forceRefresh: boolean): Promise<CacheAnswer> {
    const fetchReport = this.fetcherOf(endpoint, id, query)
    const load = async (): Promise<string> => {
      const fetched = await fetchReport()
      return serialize(fetched, fetched.nextCursor === null ? null : this.publicBaseUrl + gatewayPath(endpoint, id, { ...query, cursor: fetched.nextCursor }))
    }
    let ttlSeconds = endpoint.ttlSeconds
    if (endpoint.provider === 'gupshup' && endpoint.settledTtlSeconds !== undefined) {
      const today = isoDay(this.now())
      if (rangeOf(endpoint, query, today).to < addDays(today, -1)) ttlSeconds = endpoint.settledTtlSeconds
    }
    return await this.cache.fetch(this.keyOf(endpoint, id, query), this.ttlMs(ttlSeconds), load, forceRefresh)
  }

  /**
   * Every page of a paged report as one: each page is fetched (and cached)
   * on its own, within the budget; the cap is checked once the first page
   * says how many there are.
   */
  private async allPages (endpoint: AnyEndpoint, id: string, query: QueryValues, forceRefresh: boolean): Promise<CacheAnswer> {
    const { all, cursor, ...pageQuery } = query
    const pages: CacheAnswer[] = []
    let next: string | undefined = typeof cursor === 'string' ? cursor : undefined
    let first: UsageReport | undefined
    const data: UsageReport['data'] = []
    const units: UsageReport['units'] = {}
    do {
      const page = await this.cachedReport(endpoint, id, { ...pageQuery, cursor: next }, forceRefresh)
      const report = JSON.parse(page.entry.body) as UsageReport
      if (first === undefined) {
        first = report
        const count = report.paging.limit === null ? 1 : Math.ceil(report.paging.total / Math.max(1, report.paging.limit))
        if (count > this.maxPages) throw new TooManyPagesError(count, this.maxPages)
      } else if (pages.length >= this.maxPages) {
        throw new TooManyPagesError(pages.length + 1, this.maxPages)
      }
      pages.push(page)
      data.push(...report.data)
      Object.assign(units, report.units)
      next = report.paging.next === null ? undefined : new URL(report.paging.next, 'http://gateway').searchParams.get('cursor') ?? undefined
    } while (next !== undefined)
    const additive = new Map(endpoint.metrics.map((def) => [def.name, def.additive]))
    const body = JSON.stringify({
      ...first,
      units,
      data,
      totals: totalsOf(data, (name) => additive.get(name) ?? guessMetric(name).additive),
      paging: { total: first.paging.total, limit: first.paging.limit, next: null }
    } satisfies UsageReport)
    const outcomes = new Set(pages.map((page) => page.outcome))
    return {
      entry: { body, etag: etagOf(body), storedAt: this.now() - Math.max(...pages.map((page) => page.ageSeconds)) * 1000, ttlMs: 0 },
      outcome: outcomes.has('MISS') ? 'MISS' : outcomes.has('STALE') ? 'STALE' : 'HIT',
      ageSeconds: Math.max(...pages.map((page) => page.ageSeconds)),
      freshSeconds: Math.min(...pages.map((page) => page.freshSeconds))
    }
  }

  /** Assembled from days, each cached on its own; only missing days cost an upstream call. */
  private async dailyReport (endpoint: GupshupEndpoint, daily: { settledTtlSeconds: number }, appId: string, query: QueryValues, forceRefresh: boolean): Promise<CacheAnswer> {
    const source = this.sources.gupshup
    if (source === undefined) throw new ProviderNotConfiguredError('gupshup')
    source.assertKnownApp(appId)
    const today = isoDay(this.now())
    const settledBefore = addDays(today, -1)
    const answer = await this.days.days({
      scope: `${endpoint.key}:${appId}`,
      from: String(query.from),
      to: String(query.to),
      load: async (from, to) => await source.fetchDays(endpoint, appId, from, to),
      ttlMsOf: (day) => this.ttlMs(day < settledBefore ? daily.settledTtlSeconds : endpoint.ttlSeconds),
      // Gupshup's day may run ahead of UTC (India): tomorrow (UTC) can already have traffic.
      lastFetchable: addDays(today, 1),
      forceRefresh,
      onBackgroundError: this.onBackgroundError
    })
    const body = serialize(source.reportOf(endpoint, appId, answer.days), null)
    const now = this.now()
    return {
      entry: { body, etag: etagOf(body), storedAt: now - answer.ageSeconds * 1000, ttlMs: answer.freshSeconds * 1000 },
      outcome: answer.outcome,
      ageSeconds: answer.ageSeconds,
      freshSeconds: answer.freshSeconds
    }
  }
}

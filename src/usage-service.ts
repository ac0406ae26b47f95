/**
 * Answers a report request: from the cache when it can, else from the
 * provider, normalized and serialized once. Remembers upstream 404s (and
 * reports too large to cache) briefly, keyed by what the upstream refused, so
 * a caller cannot spend the upstream budget on them. Every upstream call is
 * made with the requesting caller's context, which the shares charge.
 */
import { LRUCache } from 'lru-cache'
import { NotFoundError, ProviderNotConfiguredError, ReportTooLargeError, TooManyPagesError, type GatewayError } from './errors.js'
import { etagOf, type ReportCache } from './cache/report-cache.js'
import type { CacheAnswer } from './cache/types.js'
import type { DayCache } from './cache/day-cache.js'
import { addDays, isoDay } from './days.js'
import type { DirectoryAnswer, DirectoryItem, Label, Labels } from './directory.js'
import type { DirectoryEndpoint, EndpointRow, QueryValues, ReportEndpoint } from './endpoint.js'
import type { Source } from './provider.js'
import { guessMetric, totalsOf, type FetchedReport, type UsageReport } from './report.js'
import type { CallContext } from './upstream-timing.js'

export interface UsageServiceOptions {
  cache: ReportCache
  days: DayCache
  /** Each configured provider's source, by provider name. */
  sources: Readonly<Record<string, Source>>
  /** CACHE_TTL_SECONDS: overrides every report's TTL when set. */
  ttlOverrideSeconds?: number
  /** Most pages one `all=true` request follows. */
  maxPages?: number
  /** PUBLIC_BASE_URL: makes paging.next absolute. */
  publicBaseUrl?: string
  now?: () => number
  /** A background refresh failed (the caller already has its STALE answer). */
  onBackgroundError?: (error: unknown) => void
  /** A forced refresh of an entry younger than this is answered from the cache (CACHE_REFRESH_FLOOR_SECONDS). */
  refreshFloorMs?: number
  /** Every provider's directory rows (`directory()` finds them by provider and name). */
  directories?: readonly DirectoryEndpoint[]
}

/** How a request asks: whether it forces a refresh, and whose calls it makes. */
export interface ReportRequest {
  forceRefresh?: boolean
  context: CallContext
}

/** How long an upstream 404 (or a report too large to cache) is remembered. */
const NOT_FOUND_TTL_MS = 60_000
/** A day reported empty is re-checked after this while it is recent (an incident may have emptied it). */
export const EMPTY_DAY_TTL_MS = 3_600_000
const RECENT_DAYS = 7
/** Query parameters that page or bound a range: not part of what an upstream 404 refused. */
const NOT_IDENTIFYING = new Set(['cursor', 'all', 'from', 'to', 'year', 'month'])
/** A name, once looked up (or listed by a directory), is kept this long, each id on its own. */
export const LABEL_TTL_MS = 24 * 3_600_000

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
export function gatewayPath (endpoint: EndpointRow, id: string, query: QueryValues): string {
  const path = endpoint.subject === null ? endpoint.route : endpoint.route.replace(`:${endpoint.subject.param}`, encodeURIComponent(id))
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
  private readonly sources: Readonly<Record<string, Source>>
  private readonly ttlOverrideSeconds?: number
  private readonly clock: () => number
  private readonly onBackgroundError: (error: unknown) => void
  private readonly refused: LRUCache<string, GatewayError>
  private readonly notFoundTtlMs: number
  private readonly maxPages: number
  private readonly publicBaseUrl: string
  private readonly refreshFloorMs: number
  private readonly directories: readonly DirectoryEndpoint[]
  /** provider:kind:id → its label, for LABEL_TTL_MS. */
  private readonly labelCache: LRUCache<string, Label>

  constructor (options: UsageServiceOptions) {
    this.cache = options.cache
    this.days = options.days
    this.sources = options.sources
    this.ttlOverrideSeconds = options.ttlOverrideSeconds
    this.clock = options.now ?? Date.now
    this.refreshFloorMs = options.refreshFloorMs ?? 60_000
    this.onBackgroundError = options.onBackgroundError ?? (() => {})
    this.maxPages = options.maxPages ?? 50
    this.publicBaseUrl = options.publicBaseUrl ?? ''
    this.notFoundTtlMs = Math.min(NOT_FOUND_TTL_MS, (options.ttlOverrideSeconds ?? Number.POSITIVE_INFINITY) * 1000)
    this.refused = new LRUCache({ max: 10_000, ttl: Math.max(1, this.notFoundTtlMs), perf: { now: this.clock }, ttlResolution: 0 })
    this.directories = options.directories ?? []
    this.labelCache = new LRUCache({ max: 100_000, ttl: LABEL_TTL_MS, perf: { now: this.clock }, ttlResolution: 0 })
  }

  /** The clock the service (and the date window of the routes) runs on. */
  now (): number {
    return this.clock()
  }

  /** What the caches hold and each provider's last quota figures (provider → credential → figure), for metrics. */
  stats (): { reportBytes: number, reportEntries: number, dayBytes: number, dayEntries: number, quotas: Record<string, Record<string, Record<string, number>>> } {
    return {
      reportBytes: this.cache.bytes,
      reportEntries: this.cache.entries,
      dayBytes: this.days.bytes,
      dayEntries: this.days.entries,
      quotas: Object.fromEntries(Object.entries(this.sources).map(([name, source]) => [name, source.quota?.() ?? {}]))
    }
  }

  /** Cache key: the report and its normalized inputs (never the caller's identity). */
  keyOf (endpoint: EndpointRow, id: string, query: QueryValues): string {
    return `${endpoint.key}:${id}?${canonicalQuery(query)}`
  }

  /**
   * What an upstream refusal is remembered under: the report, its subject and
   * the query that identifies what was asked (not paging or range bounds), so
   * `?appId=bad` does not make `?appId=good` a 404, nor one report another.
   */
  refusalKeyOf (endpoint: EndpointRow, id: string, query: QueryValues): string {
    const identifying = Object.fromEntries(Object.entries(query).filter(([name]) => !NOT_IDENTIFYING.has(name)))
    return this.keyOf(endpoint, id, identifying)
  }

  async report (endpoint: ReportEndpoint, id: string, query: QueryValues, request: ReportRequest): Promise<CacheAnswer> {
    const forceRefresh = request.forceRefresh === true
    return await this.remembering(endpoint, id, query, forceRefresh, async () => {
      if (endpoint.cache.daily === true) return await this.dailyReport(endpoint, id, query, forceRefresh, request.context)
      if (query.all === true) return await this.allPages(endpoint, id, query, forceRefresh, request.context)
      return await this.cachedReport(endpoint, id, query, forceRefresh, request.context)
    })
  }

  /** Answers from what the upstream refused (a 404, too large), else runs `answer` and remembers such a refusal. */
  private async remembering (endpoint: EndpointRow, id: string, query: QueryValues, forceRefresh: boolean, answer: () => Promise<CacheAnswer>): Promise<CacheAnswer> {
    // The hot path skips the key when nothing is remembered.
    const remembered = forceRefresh || this.refused.size === 0 ? undefined : this.refused.get(this.refusalKeyOf(endpoint, id, query))
    if (remembered !== undefined) throw remembered
    try {
      return await answer()
    } catch (error) {
      if ((error instanceof NotFoundError || error instanceof ReportTooLargeError) && this.notFoundTtlMs > 0) this.refused.set(this.refusalKeyOf(endpoint, id, query), error)
      throw error
    }
  }

  /**
   * A directory answer (`id`: the subject's, '' when the row has none), cached
   * whole like a report. Its items' names fill the label cache.
   */
  async directoryAnswer (endpoint: DirectoryEndpoint, id: string, query: QueryValues, request: ReportRequest): Promise<CacheAnswer> {
    const forceRefresh = request.forceRefresh === true
    return await this.remembering(endpoint, id, query, forceRefresh, async () => {
      const source = this.sources[endpoint.provider]
      const fetchDirectory = source?.fetchDirectory
      if (source === undefined || fetchDirectory === undefined) throw new ProviderNotConfiguredError(endpoint.provider)
      const load = async (): Promise<string> => {
        let fetched = await fetchDirectory.call(source, endpoint, id, query, request.context)
        if (endpoint.allPages) {
          const items = [...fetched.items]
          for (let pages = 1; fetched.nextCursor !== null; pages++) {
            if (pages >= this.maxPages) throw new TooManyPagesError(pages + 1, this.maxPages)
            fetched = await fetchDirectory.call(source, endpoint, id, { ...query, cursor: fetched.nextCursor }, request.context)
            items.push(...fetched.items)
          }
          fetched = { ...fetched, items, paging: { total: items.length, limit: null }, nextCursor: null }
        }
        this.rememberLabels(endpoint, fetched.items)
        const { nextCursor, ...rest } = fetched
        const next = nextCursor === null ? null : this.publicBaseUrl + gatewayPath(endpoint, id, { ...query, cursor: nextCursor })
        const body = JSON.stringify({ ...rest, paging: { ...rest.paging, next } } satisfies DirectoryAnswer)
        if (!this.cache.fits(this.keyOf(endpoint, id, query), Buffer.byteLength(body))) throw new ReportTooLargeError(endpoint.provider, Buffer.byteLength(body), this.cache.maxBytes)
        return body
      }
      return await this.cache.fetch(this.keyOf(endpoint, id, query), this.ttlMs(endpoint.cache.ttlSeconds), load, forceRefresh, this.refreshFloorMs)
    })
  }

  /**
   * Every item of a provider's directory (`directory`: `apps`, `builds`, `betaGroups`),
   * every page followed (each cached on its own, up to MAX_PAGES), for the domain's
   * own use: `subjectId` is the subject's id ('' for a directory without one).
   */
  async directory (provider: string, directory: string, subjectId: string, query: QueryValues, context: CallContext): Promise<DirectoryItem[]> {
    const endpoint = this.directories.find((row) => row.provider === provider && row.directory === directory)
    if (endpoint === undefined) throw new Error(`${provider} has no directory '${directory}'`)
    const items: DirectoryItem[] = []
    let cursor: string | undefined
    for (let pages = 0; ; pages++) {
      if (pages >= this.maxPages) throw new TooManyPagesError(pages + 1, this.maxPages)
      const answer = await this.directoryAnswer(endpoint, subjectId, { ...query, cursor }, { context })
      const page = JSON.parse(answer.entry.body) as DirectoryAnswer
      items.push(...page.items)
      cursor = page.paging.next === null ? undefined : new URL(page.paging.next, 'http://gateway').searchParams.get('cursor') ?? undefined
      if (cursor === undefined) return items
    }
  }

  /** A directory's items are labels too: later reports name them without a lookup. */
  private rememberLabels (endpoint: DirectoryEndpoint, items: readonly DirectoryItem[]): void {
    for (const item of items) {
      if (item.name === null) continue
      const label: Label = { name: item.name }
      for (const field of endpoint.labelFields) {
        const value = item.attributes[field]
        label[field] = value === undefined || value === null ? null : String(value)
      }
      this.labelCache.set(`${endpoint.provider}:${item.type}:${item.id}`, label)
    }
  }

  /**
   * The labels of a report's subject and dimension values, from the label
   * cache or the provider's lookups. A lookup that fails leaves its labels
   * out and makes `incomplete` true: a name never fails a report.
   */
  async labelsOf (report: { provider: string, subject: { type: string, id: string }, data: Array<{ dimensions: object }> }, context: CallContext): Promise<{ labels: Labels, incomplete: boolean }> {
    const wanted = new Map<string, Set<string>>([[report.subject.type, new Set([report.subject.id])]])
    for (const point of report.data) {
      for (const [kind, id] of Object.entries(point.dimensions as Record<string, string>)) {
        const ids = wanted.get(kind) ?? new Set<string>()
        ids.add(id)
        wanted.set(kind, ids)
      }
    }
    const source = this.sources[report.provider]
    const labels: Labels = {}
    let incomplete = false
    await Promise.all([...wanted].map(async ([kind, ids]) => {
      const found: Record<string, Label> = {}
      const missing: string[] = []
      for (const id of ids) {
        const label = this.labelCache.get(`${report.provider}:${kind}:${id}`)
        if (label === undefined) missing.push(id)
        else found[id] = label
      }
      if (missing.length > 0 && source?.labels !== undefined) {
        const lookup = await source.labels(kind, missing, context).catch(() => ({ found: {}, failed: true }))
        incomplete ||= lookup.failed
        for (const [id, label] of Object.entries(lookup.found)) {
          this.labelCache.set(`${report.provider}:${kind}:${id}`, label)
          found[id] = label
        }
      }
      if (Object.keys(found).length > 0) labels[kind] = found
    }))
    return { labels, incomplete }
  }

  private ttlMs (ttlSeconds: number): number {
    return (this.ttlOverrideSeconds ?? ttlSeconds) * 1000
  }

  /** The endpoint's provider's source, once it accepts the subject; throws when the provider is not configured. */
  private sourceOf (endpoint: ReportEndpoint, id: string): Source {
    const source = this.sources[endpoint.provider]
    if (source === undefined) throw new ProviderNotConfiguredError(endpoint.provider)
    source.assertKnownSubject?.(endpoint, id)
    return source
  }

  /** A report cached whole: fresh for its TTL, longer once every day it covers is settled. */
  private async cachedReport (endpoint: ReportEndpoint, id: string, query: QueryValues, forceRefresh: boolean, context: CallContext): Promise<CacheAnswer> {
    const source = this.sourceOf(endpoint, id)
    const load = async (): Promise<string> => {
      const fetched = await source.fetchReport(endpoint, id, query, context)
      const body = serialize(fetched, fetched.nextCursor === null ? null : this.publicBaseUrl + gatewayPath(endpoint, id, { ...query, cursor: fetched.nextCursor }))
      const bytes = Buffer.byteLength(body)
      // Too large to keep, it would be fetched again on every request: refuse it (remembered like a 404).
      if (!this.cache.fits(this.keyOf(endpoint, id, query), bytes)) throw new ReportTooLargeError(endpoint.provider, bytes, this.cache.maxBytes)
      return body
    }
    const { ttlSeconds: recentTtlSeconds, settledTtlSeconds, rangeOf } = endpoint.cache
    let ttlSeconds = recentTtlSeconds
    if (settledTtlSeconds !== undefined && rangeOf !== undefined) {
      const today = isoDay(this.clock())
      if (rangeOf(query, today).to < addDays(today, -1)) ttlSeconds = settledTtlSeconds
    }
    return await this.cache.fetch(this.keyOf(endpoint, id, query), this.ttlMs(ttlSeconds), load, forceRefresh, this.refreshFloorMs)
  }

  /**
   * Every page of a paged report as one: each page is fetched (and cached)
   * on its own, within the budget; the cap is checked once the first page
   * says how many there are.
   */
  private async allPages (endpoint: ReportEndpoint, id: string, query: QueryValues, forceRefresh: boolean, context: CallContext): Promise<CacheAnswer> {
    const { all, cursor, ...pageQuery } = query
    const pages: CacheAnswer[] = []
    let next: string | undefined = typeof cursor === 'string' ? cursor : undefined
    let first: UsageReport | undefined
    const data: UsageReport['data'] = []
    const units: UsageReport['units'] = {}
    do {
      // Every page is its own call, charged to this caller (cached pages cost nothing).
      const page = await this.cachedReport(endpoint, id, { ...pageQuery, cursor: next }, forceRefresh, context)
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
      totals: totalsOf(data, (name) => additive.get(name) ?? guessMetric(name).additive, endpoint.provider),
      paging: { total: first.paging.total, limit: first.paging.limit, next: null }
    } satisfies UsageReport)
    const outcomes = new Set(pages.map((page) => page.outcome))
    return {
      entry: { body, etag: etagOf(body), storedAt: this.clock() - Math.max(...pages.map((page) => page.ageSeconds)) * 1000, ttlMs: 0 },
      outcome: outcomes.has('MISS') ? 'MISS' : outcomes.has('STALE') ? 'STALE' : 'HIT',
      ageSeconds: Math.max(...pages.map((page) => page.ageSeconds)),
      freshSeconds: Math.min(...pages.map((page) => page.freshSeconds))
    }
  }

  /** Assembled from days, each cached on its own; only missing days cost an upstream call. */
  private async dailyReport (endpoint: ReportEndpoint, appId: string, query: QueryValues, forceRefresh: boolean, context: CallContext): Promise<CacheAnswer> {
    const source = this.sourceOf(endpoint, appId)
    const { fetchDays, reportOf } = source
    const { ttlSeconds, settledTtlSeconds = ttlSeconds, rangeOf } = endpoint.cache
    if (fetchDays === undefined || reportOf === undefined || rangeOf === undefined) {
      throw new Error(`${endpoint.key} is cached per day, but its row has no rangeOf or its source no fetchDays/reportOf`)
    }
    const today = isoDay(this.clock())
    const settledBefore = addDays(today, -1)
    const recent = addDays(today, -RECENT_DAYS)
    const answer = await this.days.days({
      scope: `${endpoint.key}:${appId}`,
      ...rangeOf(query, today),
      load: async (from, to) => await fetchDays.call(source, endpoint, appId, from, to, context),
      ttlMsOf: (day, empty) => {
        const ttlMs = this.ttlMs(day < settledBefore ? settledTtlSeconds : ttlSeconds)
        // A recent day reported empty may be an upstream incident: look again sooner.
        return empty && day >= recent ? Math.min(ttlMs, EMPTY_DAY_TTL_MS) : ttlMs
      },
      refreshFloorMs: this.refreshFloorMs,
      // An upstream's day may run ahead of UTC (India's): tomorrow (UTC) can already have traffic.
      lastFetchable: addDays(today, 1),
      forceRefresh,
      onBackgroundError: this.onBackgroundError
    })
    const body = serialize(reportOf.call(source, endpoint, appId, answer.days), null)
    const now = this.clock()
    return {
      entry: { body, etag: etagOf(body), storedAt: now - answer.ageSeconds * 1000, ttlMs: answer.freshSeconds * 1000 },
      outcome: answer.outcome,
      ageSeconds: answer.ageSeconds,
      freshSeconds: answer.freshSeconds
    }
  }
}

/**
 * Answers a report request: from the cache when it can, else from the
 * provider, normalized and serialized once.
 */
import { ProviderNotConfiguredError } from './errors.js'
import type { CacheAnswer, ReportCache } from './cache/report-cache.js'
import type { QueryValues } from './providers/endpoint.js'
import type { AppleEndpoint } from './providers/apple/endpoints.js'
import type { GupshupEndpoint } from './providers/gupshup/endpoints.js'
import type { FetchedReport, UsageReport } from './report.js'

export type AnyEndpoint = AppleEndpoint | GupshupEndpoint

interface ReportSource<E> {
  fetchReport: (endpoint: E, id: string, query: QueryValues) => Promise<FetchedReport>
}

export interface ReportSources {
  apple?: ReportSource<AppleEndpoint>
  gupshup?: ReportSource<GupshupEndpoint>
}

export interface UsageServiceOptions {
  cache: ReportCache
  sources: ReportSources
  /** CACHE_TTL_SECONDS: overrides every report's TTL when set. */
  ttlOverrideSeconds?: number
}

/** `a=1&b=2` with keys sorted and undefined values left out: one spelling per request. */
export function canonicalQuery (query: QueryValues): string {
  const search = new URLSearchParams()
  for (const name of Object.keys(query).sort()) {
    const value = query[name]
    if (value !== undefined) search.set(name, String(value))
  }
  return search.toString()
}

/** The gateway path of a route for one subject and query. */
export function gatewayPath (endpoint: AnyEndpoint, id: string, query: QueryValues): string {
  const path = endpoint.route.replace(`:${endpoint.subject.param}`, encodeURIComponent(id))
  const search = canonicalQuery(query)
  return search === '' ? path : `${path}?${search}`
}

export class UsageService {
  private readonly cache: ReportCache
  private readonly sources: ReportSources
  private readonly ttlOverrideSeconds?: number

  constructor (options: UsageServiceOptions) {
    this.cache = options.cache
    this.sources = options.sources
    this.ttlOverrideSeconds = options.ttlOverrideSeconds
  }

  /** Cache key: the report and its normalized inputs (never the caller's identity). */
  keyOf (endpoint: AnyEndpoint, id: string, query: QueryValues): string {
    return `${endpoint.key}:${id}?${canonicalQuery(query)}`
  }

  async report (endpoint: AnyEndpoint, id: string, query: QueryValues, forceRefresh = false): Promise<CacheAnswer> {
    const load = this.loaderOf(endpoint, id, query)
    const ttlMs = (this.ttlOverrideSeconds ?? endpoint.ttlSeconds) * 1000
    return await this.cache.fetch(this.keyOf(endpoint, id, query), ttlMs, load, forceRefresh)
  }

  private loaderOf (endpoint: AnyEndpoint, id: string, query: QueryValues): () => Promise<string> {
    let fetchReport: () => Promise<FetchedReport>
    if (endpoint.provider === 'apple') {
      const source = this.sources.apple
      if (source === undefined) throw new ProviderNotConfiguredError('apple')
      fetchReport = async () => await source.fetchReport(endpoint, id, query)
    } else {
      const source = this.sources.gupshup
      if (source === undefined) throw new ProviderNotConfiguredError('gupshup')
      fetchReport = async () => await source.fetchReport(endpoint, id, query)
    }
    return async () => {
      const { nextCursor, ...fetched } = await fetchReport()
      const next = nextCursor === null ? null : gatewayPath(endpoint, id, { ...query, cursor: nextCursor })
      const report: UsageReport = { ...fetched, paging: { ...fetched.paging, next } }
      return JSON.stringify(report)
    }
  }
}

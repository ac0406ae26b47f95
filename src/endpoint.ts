/**
 * The endpoint table's row type: each report the gateway serves is data:
 * its public route, its upstream path, the query it maps and its metrics.
 */
import type { ProviderName } from '../errors.js'
import type { MetricDef } from '../report.js'

export interface ReportEndpoint {
  provider: ProviderName
  /** Stable identity: cache keys and logs use it. */
  key: string
  /** The upstream report name, as the normalized report says it. */
  report: string
  /** Public route, in Fastify's syntax (`/usage/apple/builds/:buildId`). */
  route: string
  summary: string
  subject: { type: string, param: string }
  /** Upstream path; `{id}` is replaced by the encoded subject id. */
  upstreamPath: string
  /** Gateway query parameter → upstream query parameter. */
  query: Record<string, string>
  /** Whether the route takes a `cursor` and answers `paging.next`. */
  paged: boolean
  metrics: MetricDef[]
  /** How long a fetched report stays fresh, unless CACHE_TTL_SECONDS overrides it. */
  ttlSeconds: number
}

export type QueryValues = Record<string, string | number | boolean | undefined>

/** The upstream path with the subject id encoded, so no input can change the path. */
export function upstreamPathOf (endpoint: ReportEndpoint, id: string): string {
  return endpoint.upstreamPath.replace('{id}', encodeURIComponent(id))
}

/** The query string for the upstream, built from the gateway's own names. */
export function upstreamQueryOf (endpoint: ReportEndpoint, query: QueryValues): URLSearchParams {
  const search = new URLSearchParams()
  for (const [name, upstreamName] of Object.entries(endpoint.query)) {
    const value = query[name]
    if (value !== undefined) search.set(upstreamName, String(value))
  }
  return search
}

/**
 * The endpoint table's row type: each report the gateway serves is data:
 * its public route and parameters, its upstream path, the query it maps,
 * its metrics and its cache policy. Providers' tables are lists of rows.
 */
import type { Static, TObject } from 'typebox'
import type { DirectoryItem } from './directory.js'
import type { MetricDef } from './report.js'

export type QueryValues = Readonly<Record<string, unknown>>

/** How long a report stays fresh, and whether it is cached per day. */
export interface CachePolicy {
  /** Freshness of a fetched report (of a recent day, when days settle), unless CACHE_TTL_SECONDS overrides it. */
  ttlSeconds: number
  /** Freshness once every day the request covers is two or more days past (`rangeOf` says which days). */
  settledTtlSeconds?: number
  /** Cached per day rather than per request: the source answers `fetchDays` and `reportOf`. */
  daily?: true
  /** The days a request covers (`from`..`to`, a month, today). */
  rangeOf?: (query: QueryValues, today: string) => { from: string, to: string }
}

/** What every row of a table has, whether it serves a report or a directory. */
export interface EndpointRow {
  /** The provider's name, as the registry knows it. */
  provider: string
  /** Stable identity: cache keys and logs use it. */
  key: string
  /** Public route, in Fastify's syntax (`/usage/apple/builds/:buildId`). */
  route: string
  summary: string
  /** What the route is about, and its path parameter; null for a route without one (`/usage/apple/apps`). */
  subject: { type: string, param: string } | null
  /** The route's path parameters (the subject) and query parameters, validated before any upstream call. */
  params: TObject
  querystring: TObject
  /** The subject id the spec's examples use. */
  exampleId: string
  /** A rule across query parameters that a schema cannot say (`now`: the service's clock); throws InvalidParameterError. */
  check?: (query: QueryValues, now: number) => void
  /** Puts lenient spellings (`month=1`, `2024-1-5`) in the schema's form, before validation. */
  normalize?: (query: Record<string, unknown>) => void
  /** Upstream path; `{id}` is replaced by the encoded subject id. */
  upstreamPath: string
  /** Gateway query parameter → upstream query parameter; null: the gateway's own (not sent upstream). */
  query: Readonly<Record<string, string | null>>
  /** Whether the route takes a `cursor` and answers `paging.next`. */
  paged: boolean
  cache: CachePolicy
  /**
   * Its points are days of `cache.rangeOf`, one each: it takes `granularity`
   * (day, ISO week, calendar month), rolled up by each metric's rule from the
   * same cached days (granularity is not part of any cache key).
   */
  buckets?: true
  /** A report over many subjects: each one's report from `over`, its points marked with their subject. */
  fanOut?: FanOut
  /**
   * The top-level subject (an app) that accounts own and scopes name, when it is not the route's own subject
   * and a query parameter names it (a tester's usage of one app: `appId`). Without it, a subject that is not
   * top-level (a build, a group) is traced to its app by the account's source (`parentOf`).
   */
  ownedVia?: { query: string }
}

/** What a fan-out row fans out over: a per-subject row, and how subjects are named and fetched. */
export interface FanOut {
  /** The per-subject row each subject's report comes from (its days and caches). */
  over: ReportEndpoint
  /** The query parameter listing subject ids, comma-separated (without it: every subject of the provider's directory). */
  param?: string
  /**
   * Or: the subjects are the first `query[count]` items (newest first) of the
   * directory `directory` of the route's own subject, named in `labels`.
   */
  fromDirectory?: { directory: string, count: string, defaultCount: number }
  /** The dimension each point carries its subject's id under. */
  dimension: string
  /** Each subject's points summed into one point (its totals, from the earliest start to the latest end). */
  onePointPerSubject?: true
  /** Most subjects one request may name. */
  maxSubjects: number
  /** Most subjects fetched at once. */
  concurrency: number
}

export interface ReportEndpoint extends EndpointRow {
  /** The upstream report name, as the normalized report says it. */
  report: string
  subject: { type: string, param: string }
  metrics: MetricDef[]
}

/**
 * A directory row: a list of what a provider's reports are about (apps,
 * builds, groups), served, cached and documented like a report row.
 */
export interface DirectoryEndpoint extends EndpointRow {
  kind: 'directory'
  /** The directory's name, as the answer says it (`apps`, `builds`, `betaGroups`). */
  directory: string
  /** The items' type, which is also the label kind their names fill (`app`, `build`, `betaGroup`). */
  itemType: string
  /** Follows every upstream page (up to MAX_PAGES) and answers them as one list. */
  allPages: boolean
  /** The item attributes a label keeps beside the name (`bundleId` for an app). */
  labelFields: string[]
  /** Upstream query parameters sent with every call (`fields[apps]`); `{id}` is replaced by the subject id. */
  upstreamQuery: Readonly<Record<string, string>>
  /** The upstream's name for the page cursor (`cursor`, Gupshup's `pageNo`). */
  upstreamCursor: string
  /** The item the spec's examples show. */
  exampleItem: DirectoryItem
}

/** A directory is fresh for an hour unless its row says otherwise. */
export const DIRECTORY_TTL_SECONDS = 3600

/** Every query parameter of the schema, mapped: a missing or misspelt name does not compile. */
export type QueryMap<Q extends TObject> = { readonly [K in keyof Static<Q>]-?: string | null }

/** A row as written in a table: its query mapping is checked against its querystring schema. */
export type RowInput<E extends EndpointRow, Q extends TObject> = Omit<E, 'querystring' | 'query'> & { querystring: Q, query: QueryMap<NoInfer<Q>> }

/** A row builder for a provider's row type `E`: `const row = rowOf<AppleEndpoint>(); row({ ... })`. */
export function rowOf<E extends EndpointRow> (): <Q extends TObject>(row: RowInput<E, Q>) => E {
  // The mapping's keys were checked against Q by the parameter type; E differs from the input only there.
  return (row) => row as unknown as E
}

/** The upstream path with the subject id encoded, so no input can change the path. */
export function upstreamPathOf (endpoint: EndpointRow, id: string): string {
  return endpoint.upstreamPath.replace('{id}', encodeURIComponent(id))
}

/** The query string for the upstream, built from the gateway's own names. */
export function upstreamQueryOf (endpoint: EndpointRow, query: QueryValues): URLSearchParams {
  const search = new URLSearchParams()
  for (const [name, upstreamName] of Object.entries(endpoint.query)) {
    const value = query[name]
    if (value !== undefined && upstreamName !== null) search.set(upstreamName, String(value))
  }
  return search
}

/** A directory call's query: the row's fixed parameters, the mapped ones, and the page cursor. */
export function directoryQueryOf (endpoint: DirectoryEndpoint, id: string, query: QueryValues): URLSearchParams {
  const search = new URLSearchParams()
  for (const [name, value] of Object.entries(endpoint.upstreamQuery)) search.set(name, value.replace('{id}', id))
  for (const [name, value] of upstreamQueryOf(endpoint, query)) search.set(name, value)
  if (query.cursor !== undefined) search.set(endpoint.upstreamCursor, String(query.cursor))
  return search
}

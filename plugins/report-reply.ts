/**
 * HTTP semantics of a report answer: JSON or CSV by Accept, X-Cache, Age,
 * Cache-Control, a strong ETag per representation, 304 for a matching
 * If-None-Match, and for paged reports `Link: rel="next"` and X-Total-Count.
 */
import fp from 'fastify-plugin'
import type { FastifyReply } from 'fastify'
import type { CacheAnswer, CachedReport } from '../src/cache/types.js'
import { prefersCsv, reportToCsv } from '../src/csv.js'
import type { UsageReport } from '../src/report.js'
import { closeConnectionIfShuttingDown } from './graceful-close.js'

declare module 'fastify' {
  interface FastifyReply {
    /** `toCsv`: the body as CSV (a report's, unless given). */
    sendReport: (answer: CacheAnswer, toCsv?: (body: string) => string) => FastifyReply
  }
}

/** If-None-Match matches when any listed tag (weakly compared, per RFC 9110) is ours, or `*`. */
export function matchesEtag (ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false
  return ifNoneMatch.split(',').some((tag) => {
    const trimmed = tag.trim()
    return trimmed === '*' || trimmed.replace(/^W\//, '') === etag
  })
}

/** What every answer from one cached entry shares, worked out once per entry (it goes when the entry goes). */
interface EntryHeaders {
  etag: string
  csvEtag: string
  /** RFC 8288 `Link: <next>; rel="next"` of a paged report (absolute with PUBLIC_BASE_URL, as paging.next). */
  link?: string
  /** `X-Total-Count`: the upstream's total of rows across pages. */
  totalCount?: string
  csv?: string
}

const headersOf = new WeakMap<CachedReport, EntryHeaders>()

function entryHeaders (entry: CachedReport): EntryHeaders {
  let headers = headersOf.get(entry)
  if (headers === undefined) {
    const { paging } = JSON.parse(entry.body) as Partial<UsageReport>
    headers = { etag: entry.etag, csvEtag: `${entry.etag.slice(0, -1)}-csv"` }
    if (typeof paging?.next === 'string') headers.link = `<${paging.next}>; rel="next"`
    if (typeof paging?.total === 'number') headers.totalCount = String(paging.total)
    headersOf.set(entry, headers)
  }
  return headers
}

const reportCsv = (body: string): string => reportToCsv(JSON.parse(body) as UsageReport)

function csv (entry: CachedReport, headers: EntryHeaders, toCsv: (body: string) => string): string {
  headers.csv ??= toCsv(entry.body)
  return headers.csv
}

export default fp(async function reportReply (fastify) {
  fastify.decorateReply('sendReport', function (this: FastifyReply, answer: CacheAnswer, toCsv = reportCsv) {
    const { entry, outcome, ageSeconds, freshSeconds } = answer
    const headers = entryHeaders(entry)
    const asCsv = prefersCsv(this.request.headers.accept)
    const etag = asCsv ? headers.csvEtag : headers.etag
    this.header('x-cache', outcome)
    this.header('age', String(ageSeconds))
    this.header('cache-control', `private, max-age=${freshSeconds}`)
    this.header('etag', etag)
    this.header('vary', 'Accept')
    if (headers.link !== undefined) this.header('link', headers.link)
    if (headers.totalCount !== undefined) this.header('x-total-count', headers.totalCount)
    closeConnectionIfShuttingDown(this)
    if (matchesEtag(this.request.headers['if-none-match'], etag)) return this.code(304).send()
    if (asCsv) return this.type('text/csv; charset=utf-8').send(csv(entry, headers, toCsv))
    return this.type('application/json; charset=utf-8').send(entry.body)
  })
}, { name: 'report-reply' })

/**
 * HTTP semantics of a report answer: JSON or CSV by Accept, X-Cache, Age,
 * Cache-Control, a strong ETag per representation, 304 for a matching
 * If-None-Match, and for paged reports `Link: rel="next"` and X-Total-Count.
 * `reportAnswer` works it out; `reply.sendReport` (the routes) and the
 * remembered-request answer (plugins/remembered-requests.ts) both send it.
 */
import type { IncomingHttpHeaders } from 'node:http'
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

/** `Cache-Control: no-cache` (or `Pragma: no-cache`) asks for a fresh upstream copy. */
export function wantsFreshCopy (headers: IncomingHttpHeaders): boolean {
  return /\bno-cache\b/i.test(String(headers['cache-control'] ?? headers.pragma ?? ''))
}

/** If-None-Match matches when any listed tag (weakly compared, per RFC 9110) is ours, or `*`. */
export function matchesEtag (ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false
  return ifNoneMatch.split(',').some((tag) => {
    const trimmed = tag.trim()
    return trimmed === '*' || trimmed.replace(/^W\//, '') === etag
  })
}

/** One representation of an entry: its body, type, byte length and ETag. */
interface Representation { body: string, type: string, length: string, etag: string }

/** What every answer from one cached entry shares, worked out once per entry (it goes when the entry goes). */
interface EntryHeaders {
  json: Representation
  /** Worked out on the first request for CSV. */
  csv?: Representation
  /** `Link: <next>; rel="next"` (RFC 8288) of a paged report, and `X-Total-Count`, the upstream's total across pages: names and values. */
  paging: string[]
}

const headersOf = new WeakMap<CachedReport, EntryHeaders>()

function entryHeaders (entry: CachedReport): EntryHeaders {
  let headers = headersOf.get(entry)
  if (headers === undefined) {
    const { paging } = JSON.parse(entry.body) as Partial<UsageReport>
    const json = { body: entry.body, type: 'application/json; charset=utf-8', length: String(Buffer.byteLength(entry.body)), etag: entry.etag }
    headers = { json, paging: [] }
    // Absolute with PUBLIC_BASE_URL, as paging.next.
    if (typeof paging?.next === 'string') headers.paging.push('link', `<${paging.next}>; rel="next"`)
    if (typeof paging?.total === 'number') headers.paging.push('x-total-count', String(paging.total))
    headersOf.set(entry, headers)
  }
  return headers
}

function csvOf (entry: CachedReport, headers: EntryHeaders, toCsv: (body: string) => string): Representation {
  if (headers.csv === undefined) {
    const body = toCsv(entry.body)
    headers.csv = { body, type: 'text/csv; charset=utf-8', length: String(Buffer.byteLength(body)), etag: `${entry.etag.slice(0, -1)}-csv"` }
  }
  return headers.csv
}

const reportCsv = (body: string): string => reportToCsv(JSON.parse(body) as UsageReport)

/** A report answer as HTTP: its status and the body it sends. */
export interface ReportAnswer {
  status: 200 | 304
  /** Absent for a 304. */
  representation?: Representation
}

/**
 * The answer to a request with these `Accept` and `If-None-Match` headers. Its headers (besides content type and
 * length) are added to `headers`, names and values in turn, as Node's `writeHead` takes them.
 */
export function reportAnswer (answer: CacheAnswer, accept: string | undefined, ifNoneMatch: string | undefined, headers: string[],
  toCsv = reportCsv): ReportAnswer {
  const { entry, outcome, ageSeconds, freshSeconds } = answer
  const ofEntry = entryHeaders(entry)
  const representation = prefersCsv(accept) ? csvOf(entry, ofEntry, toCsv) : ofEntry.json
  headers.push('x-cache', outcome, 'age', String(ageSeconds), 'cache-control', `private, max-age=${freshSeconds}`)
  headers.push('etag', representation.etag, 'vary', 'Accept')
  for (const header of ofEntry.paging) headers.push(header)
  return matchesEtag(ifNoneMatch, representation.etag) ? { status: 304 } : { status: 200, representation }
}

export default fp(async function reportReply (fastify) {
  fastify.decorateReply('sendReport', function (this: FastifyReply, answer: CacheAnswer, toCsv?: (body: string) => string) {
    const headers: string[] = []
    const { status, representation } = reportAnswer(answer, this.request.headers.accept, this.request.headers['if-none-match'], headers, toCsv)
    for (let index = 0; index < headers.length; index += 2) this.header(headers[index], headers[index + 1])
    closeConnectionIfShuttingDown(this)
    if (representation === undefined) return this.code(status).send()
    return this.type(representation.type).send(representation.body)
  })
}, { name: 'report-reply' })

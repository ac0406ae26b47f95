/**
 * HTTP semantics of a report answer: JSON or CSV by Accept, X-Cache, Age,
 * Cache-Control, a strong ETag per representation, and 304 for a matching
 * If-None-Match.
 */
import fp from 'fastify-plugin'
import type { FastifyReply } from 'fastify'
import type { CacheAnswer, CachedReport } from '../src/cache/types.js'
import { prefersCsv, reportToCsv } from '../src/csv.js'
import type { UsageReport } from '../src/report.js'

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

// A cached entry's CSV is built once, and goes when the entry goes.
const csvOf = new WeakMap<CachedReport, string>()

const reportCsv = (body: string): string => reportToCsv(JSON.parse(body) as UsageReport)

function csv (entry: CachedReport, toCsv: (body: string) => string): string {
  let text = csvOf.get(entry)
  if (text === undefined) {
    text = toCsv(entry.body)
    csvOf.set(entry, text)
  }
  return text
}

export default fp(async function reportReply (fastify) {
  fastify.decorateReply('sendReport', function (this: FastifyReply, answer: CacheAnswer, toCsv = reportCsv) {
    const { entry, outcome, ageSeconds, freshSeconds } = answer
    const asCsv = prefersCsv(this.request.headers.accept)
    const etag = asCsv ? `${entry.etag.slice(0, -1)}-csv"` : entry.etag
    this.headers({ 'x-cache': outcome, age: String(ageSeconds), 'cache-control': `private, max-age=${freshSeconds}`, etag, vary: 'Accept' })
    if (matchesEtag(this.request.headers['if-none-match'], etag)) return this.code(304).send()
    if (asCsv) return this.type('text/csv; charset=utf-8').send(csv(entry, toCsv))
    return this.type('application/json; charset=utf-8').send(entry.body)
  })
}, { name: 'report-reply' })

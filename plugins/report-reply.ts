/**
 * HTTP caching semantics of a report answer: X-Cache, Age, Cache-Control,
 * a strong ETag, and 304 for a matching If-None-Match.
 */
import fp from 'fastify-plugin'
import type { FastifyReply } from 'fastify'
import type { CacheAnswer } from '../src/cache/report-cache.js'

declare module 'fastify' {
  interface FastifyReply {
    sendReport: (answer: CacheAnswer) => FastifyReply
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

export default fp(async function reportReply (fastify) {
  fastify.decorateReply('sendReport', function (this: FastifyReply, answer: CacheAnswer) {
    const { entry, outcome, ageSeconds, freshSeconds } = answer
    this.headers({ 'x-cache': outcome, age: String(ageSeconds), 'cache-control': `private, max-age=${freshSeconds}`, etag: entry.etag })
    if (matchesEtag(this.request.headers['if-none-match'], entry.etag)) return this.code(304).send()
    return this.type('application/json; charset=utf-8').send(entry.body)
  })
}, { name: 'report-reply' })

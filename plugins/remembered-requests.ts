/**
 * The cache-hit path's short cut: a request asked again is answered in front
 * of Fastify's request handling.
 *
 * A GET answered from a cache entry as the cache holds it (not labelled,
 * bucketed, assembled or fanned out) is remembered: its caller (a verified
 * key's name) and exact URL, to the cache and key that answered it. The same
 * request again, while that entry is fresh, is answered by the server's own
 * request listener, before Fastify makes its request, reply, logger and
 * hooks: the full path costs about twice the bare route's CPU, this one
 * little more than it (bench/NOTES.md). Everything a caller or an operator
 * sees is as on the full path, from the same code: the key is checked
 * (plugins/auth.ts `knownKey`) and counted against the inbound limit
 * (plugins/rate-limit.ts), the answer is the route's (plugins/report-reply.ts
 * `reportAnswer`), with X-Request-Id, and it gets the request log line and
 * metrics (plugins/request-log.ts `requestRecord`). Whatever it does not
 * handle takes the full path: another method, a body, a forced refresh, an
 * entry gone stale or evicted, another day (the routes' date checks read the
 * clock), a key not yet verified on the connection or a failed key check
 * pending, shutdown, a request over the limit (handed over, already counted).
 * `fastify.inject` calls Fastify's handler directly, so it always takes the
 * full path.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http'
import { performance } from 'node:perf_hooks'
import fp from 'fastify-plugin'
import type { FastifyRequest } from 'fastify'
import type { CacheAnswer, HitSource } from '../src/cache/types.js'
import { reportAnswer, wantsFreshCopy } from './report-reply.js'
import type { Count } from './rate-limit.js'
import { carriesBody, requestIdOf, type RequestFacts, type RequestRecord } from './request-log.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Remembers a request a route answered from a cache entry, to answer it again in front of Fastify. */
    rememberRequest: (request: FastifyRequest, answer: CacheAnswer, csv?: (body: string) => string) => void
  }
}

/** What a request answered from a cache entry as it is held maps to: that cache, the key, and the day it was asked. */
interface Remembered {
  from: HitSource
  key: string
  day: number
  generation: number
  /** What its log line and metrics say besides id, status and duration. */
  facts: RequestFacts
  /** Made from the facts on the first repeat. */
  record?: RequestRecord
  csv?: (body: string) => string
}

let generation = 0

/**
 * Forgets every remembered request (of every app in the process): what a
 * caller may reach has changed (the key ring was swapped, an account's
 * subjects changed, an upstream refused a report), so each request takes the
 * full path once again.
 */
export function forgetRememberedRequests (): void {
  generation++
}

/** Requests remembered per app (a few hundred bytes each); all are forgotten when there are more. */
const REMEMBERED_REQUESTS = 10_000
/**
 * Longer URLs take the full path every time. Empty query parameters (`?&&&…`) make any number of distinct URLs
 * up to Node's 16 KiB header limit answer from one entry: 10 KiB or more each to remember (URL and log line).
 */
const REMEMBERED_URL_LENGTH = 2048
const DAY_MS = 86_400_000

class RequestMemo {
  /** caller → exact URL → what answered it. Plain maps (lru-cache's get was 1.7% of a hit), emptied when full. */
  private readonly remembered = new Map<string, Map<string, Remembered>>()
  private size = 0
  constructor (private readonly now: () => number) {}

  remember (request: FastifyRequest, answer: CacheAnswer, csv?: (body: string) => string): void {
    const { from, key } = answer
    // Only verified callers are answered in front of Fastify.
    if (request.method !== 'GET' || request.caller === '' || request.url.length > REMEMBERED_URL_LENGTH) return
    if (from === undefined || key === undefined || (answer.incomplete ?? 0) > 0 || !from.holds(key, answer.entry)) return
    if (this.size >= REMEMBERED_REQUESTS) {
      this.remembered.clear()
      this.size = 0
    }
    let urls = this.remembered.get(request.caller)
    if (urls === undefined) this.remembered.set(request.caller, urls = new Map())
    if (!urls.has(request.url)) this.size++
    const { url, routeOptions, caller, upstreamTally } = request
    const facts = { method: 'GET', url, route: routeOptions.url, caller, account: upstreamTally?.account, cache: 'HIT', upstreamCalls: 0, upstreamMs: 0 }
    urls.set(request.url, { from, key, day: Math.floor(this.now() / DAY_MS), generation, facts, csv })
  }

  /** The remembered request and its fresh entry, or undefined: then the request takes the full path. */
  find (caller: string, url: string, headers: IncomingHttpHeaders): { remembered: Remembered, hit: CacheAnswer } | undefined {
    const remembered = this.remembered.get(caller)?.get(url)
    if (remembered === undefined || remembered.generation !== generation || wantsFreshCopy(headers)) return undefined
    if (remembered.day !== Math.floor(this.now() / DAY_MS)) return undefined
    const hit = remembered.from.hit(remembered.key)
    return hit === undefined ? undefined : { remembered, hit }
  }
}

type Listener = (request: IncomingMessage, response: ServerResponse) => void

/** Answers ended together at most; more are ended at once (each waits for the others' work, a few µs apiece). */
const ENDED_TOGETHER = 16

/**
 * Ends answers together once the event loop has handled the requests that
 * were ready (in its check phase), instead of one socket write per answer as
 * each is made. On a busy gateway the first write wakes the client and the
 * next ones find it awake: each wake-up across cores costs the writer several
 * µs of system time, which made up a third of a remembered answer's CPU
 * (bench/NOTES.md). Headers are made, checked and the request logged before
 * the answer waits; only the write waits.
 */
class AnswerWrites {
  /** Responses and their bodies, in turn. */
  private pending: Array<ServerResponse | string | undefined> = []
  private scheduled = false
  constructor (private readonly failed: (error: unknown) => void) {}

  end (response: ServerResponse, body: string | undefined): void {
    this.pending.push(response, body)
    if (this.pending.length >= ENDED_TOGETHER * 2) this.flush()
    else if (!this.scheduled) {
      this.scheduled = true
      setImmediate(this.flushScheduled)
    }
  }

  private readonly flushScheduled = (): void => {
    this.scheduled = false
    this.flush()
  }

  private flush (): void {
    const pending = this.pending
    this.pending = []
    for (let index = 0; index < pending.length; index += 2) {
      try {
        (pending[index] as ServerResponse).end(pending[index + 1])
      } catch (error) {
        this.failed(error)
      }
    }
  }
}

export default fp(async function rememberedRequests (fastify) {
  const memo = new RequestMemo(() => fastify.usage.now())
  fastify.decorate('rememberRequest', (request: FastifyRequest, answer: CacheAnswer, csv?: (body: string) => string) => {
    memo.remember(request, answer, csv)
  })
  const { server, shutdown, inboundLimit } = fastify
  const listeners = server.listeners('request') as Listener[]
  // Only in front of the one listener Fastify installs; anything else, and every request takes the full path.
  if (listeners.length !== 1) return
  const [handle] = listeners
  const writes = new AnswerWrites((error) => { fastify.log.error({ err: error }, 'a remembered answer could not be written') })

  /** The request's caller and what it remembers, when this short cut may answer it. */
  const rememberedOf = (request: IncomingMessage): { caller: string, remembered: Remembered, hit: CacheAnswer } | undefined => {
    if (request.method !== 'GET' || shutdown.draining || shutdown.closing || carriesBody(request.headers)) return undefined
    const caller = fastify.knownKey(request)?.name
    const found = caller === undefined ? undefined : memo.find(caller, request.url ?? '', request.headers)
    return found === undefined || caller === undefined ? undefined : { caller, remembered: found.remembered, hit: found.hit }
  }

  /** The headers of the answer being made: one list, refilled for each (Node's `writeHead` does not keep it). */
  const sent: string[] = []
  /** Answers once counted; the same headers in the same order as the full path's. */
  const answer = (request: IncomingMessage, response: ServerResponse, started: number, remembered: Remembered, hit: CacheAnswer,
    error: Error | null, count?: Count): boolean => {
    // As Fastify writes them: the request id (request log), the limit's, the report's, then type and length.
    sent.length = 0
    const requestId = requestIdOf(request)
    sent.push('x-request-id', requestId)
    if (!inboundLimit.allows(error, count, sent)) return false
    const { headers } = request
    const { status, representation } = reportAnswer(hit, headers.accept, headers['if-none-match'], sent, remembered.csv)
    // Shutdown may have begun while the count was under way (Redis): as reply.sendReport does.
    if (shutdown.draining || shutdown.closing) sent.push('connection', 'close')
    if (representation !== undefined) sent.push('content-type', representation.type, 'content-length', representation.length)
    response.writeHead(status, sent)
    writes.end(response, representation?.body)
    // Logged and counted once the answer is on its way (a failure here must not hold it up).
    remembered.record ??= fastify.requestRecord(remembered.facts)
    remembered.record(requestId, status, performance.now() - started)
    return true
  }

  server.removeListener('request', handle)
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const started = performance.now()
    let found: ReturnType<typeof rememberedOf>
    try {
      found = rememberedOf(request)
    } catch (error) {
      fastify.log.error({ err: error }, 'remembered request lookup failed; answering by the full path')
    }
    if (found === undefined) {
      handle(request, response)
      return
    }
    const { caller, remembered, hit } = found
    inboundLimit.count(caller, (error, count) => {
      try {
        if (answer(request, response, started, remembered, hit, error, count)) return
      } catch (failure) {
        fastify.log.error({ err: failure }, 'remembered request failed; answering by the full path')
        if (response.headersSent) return
      }
      // Over the limit, or the store failed: the full path answers, from this count.
      inboundLimit.handOver(request, error, count)
      handle(request, response)
    })
  })
}, { name: 'remembered-requests', dependencies: ['auth', 'inbound-limit', 'request-log', 'report-reply', 'usage', 'graceful-close'] })

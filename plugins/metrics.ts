/**
 * Prometheus metrics (prom-client) on a registry of this instance's own:
 * requests, the cache, upstream calls and refusals, Apple's quota, and
 * Node's process metrics. GET /metrics serves them.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import fp from 'fastify-plugin'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { UnauthorizedError } from '../src/errors.js'
import { gatewayErrorOf, problemOf } from '../src/problem.js'
import type { GatewayObserver } from '../src/observer.js'
import type { Provider } from '../src/provider.js'
import type { UsageService } from '../src/usage-service.js'

declare module 'fastify' {
  interface FastifyInstance {
    gatewayMetrics: GatewayMetrics
  }
}

export interface GatewayMetrics {
  registry: Registry
  observer: GatewayObserver
  /**
   * What counts answered requests of one route and method with one cache result (an X-Cache value, or none):
   * found once and reused (plugins/request-log.ts), where the labels are looked up per request on the full path.
   */
  requestObserver: (route: string, method: string, cacheResult: unknown) => (status: number, seconds: number) => void
  /** A socket closed at once because MAX_CONNECTIONS were open. */
  connectionRefused: () => void
}

const REQUEST_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

/** What prom-client keeps per label set of a histogram (its `hashMap` values): counts by upper bound, sum, count. */
interface HistogramValues { labels: object, bucketValues: Record<string, number>, sum: number, count: number }

/**
 * One label set of the request histogram, observed in place. prom-client's
 * observe builds a closure, checks and hashes the labels and looks the series
 * up on every call (2.5% of a cache hit's CPU, bench/NOTES.md); this does what
 * it does to the series' values (sum, count, the first bucket at or above the
 * value) directly. The series is made by prom-client's own `zero()` and found
 * again should the histogram be reset.
 */
class RequestSeries {
  private hash = ''
  private values: HistogramValues | undefined
  /** Set when prom-client keeps its series elsewhere: then it is asked the slow way. */
  private slow = false
  constructor (private readonly histogram: Histogram, private readonly labels: Record<string, string>) {}

  observe (seconds: number): void {
    if (this.slow) return this.histogram.observe(this.labels, seconds)
    const map = (this.histogram as unknown as { hashMap: Record<string, HistogramValues> }).hashMap
    let values = this.values
    if (values === undefined || map[this.hash] !== values) {
      this.histogram.zero(this.labels)
      const found = Object.entries(map).find(([, series]) => series.labels === this.labels)
      if (found === undefined) {
        this.slow = true
        return this.histogram.observe(this.labels, seconds)
      }
      ;[this.hash, values] = found
      this.values = values
    }
    values.sum += seconds
    values.count += 1
    for (const bound of REQUEST_BUCKETS) {
      if (seconds <= bound) {
        values.bucketValues[bound]++
        return
      }
    }
  }
}

export default fp<{ providers: readonly Provider[] }>(async function metrics (fastify, { providers }) {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const registers = [registry]

  const requests = new Histogram({
    name: 'gateway_http_request_duration_seconds',
    help: 'Requests answered by the gateway, by route, method and status.',
    labelNames: ['route', 'method', 'status'],
    buckets: REQUEST_BUCKETS,
    registers
  })
  const cacheResults = new Counter({ name: 'gateway_cache_results_total', help: 'Report answers by cache result (HIT, MISS, STALE).', labelNames: ['result'], registers })
  const evictions = new Counter({ name: 'gateway_cache_evictions_total', help: 'Entries dropped to stay within CACHE_MAX_BYTES.', labelNames: ['cache'], registers })
  const upstream = new Histogram({
    name: 'gateway_upstream_request_duration_seconds',
    help: 'Upstream calls (each attempt), by provider, account, report and status (HTTP status, error or timeout).',
    labelNames: ['provider', 'account', 'report', 'status'],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers
  })
  const refusals = new Counter({ name: 'gateway_upstream_refusals_total', help: 'Upstream calls not made, by provider and account: budget spent, a 429 back-off holding, a caller over its share, or the queue full.', labelNames: ['provider', 'account', 'reason'], registers })
  // Callers by key name (or `anonymous`), never by key or address.
  const charged = new Counter({ name: 'gateway_caller_upstream_calls_total', help: 'Upstream calls charged to each caller (key name, or anonymous), by provider and account.', labelNames: ['provider', 'account', 'caller'], registers })
  const shareRefusals = new Counter({ name: 'gateway_caller_share_refusals_total', help: 'Requests refused because the caller had spent its share of a contended upstream budget.', labelNames: ['provider', 'caller'], registers })

  // Read at scrape time from the usage service, which is decorated after this plugin.
  const usage = (): ReturnType<UsageService['stats']> | undefined => fastify.hasDecorator('usage') ? fastify.usage.stats() : undefined
  /** A gauge per cache (reports, days), read from the usage service's stats. */
  const perCache = (name: string, help: string, read: (stats: ReturnType<UsageService['stats']>) => { reports: number, days: number }): void => {
    registry.registerMetric(new Gauge({
      name,
      help,
      labelNames: ['cache'],
      registers: [],
      collect () {
        const stats = usage()
        if (stats === undefined) return
        for (const [cache, value] of Object.entries(read(stats))) this.set({ cache }, value)
      }
    }))
  }
  perCache('gateway_cache_bytes', 'Counted bytes held by each cache (bounded by CACHE_MAX_BYTES).', (stats) => ({ reports: stats.reportBytes, days: stats.dayBytes }))
  perCache('gateway_cache_entries', 'Entries held by each cache.', (stats) => ({ reports: stats.reportEntries, days: stats.dayEntries }))
  for (const provider of providers) {
    if (provider.quotaMetric === undefined) continue
    registry.registerMetric(new Gauge({
      name: `gateway_${provider.name}_quota_remaining`,
      help: provider.quotaMetric.help,
      labelNames: ['key', 'figure'],
      registers: [],
      collect () {
        this.reset()
        for (const [key, figures] of Object.entries(usage()?.quotas[provider.name] ?? {})) {
          for (const [figure, value] of Object.entries(figures)) this.set({ key, figure }, value)
        }
      }
    }))
  }

  registry.registerMetric(new Gauge({
    name: 'gateway_redis_up',
    help: '1 while the shared Redis answers, 0 while replicas fall back on local budgets; absent without REDIS_URL.',
    registers: [],
    collect () {
      if (fastify.hasDecorator('redis') && fastify.redis !== undefined) this.set(fastify.redis.status === 'ready' ? 1 : 0)
    }
  }))

  const refusedConnections = new Counter({ name: 'gateway_connections_refused_total', help: 'Sockets closed at once because MAX_CONNECTIONS were open.', registers })

  // prom-client hashes the label object on every observe; a series per label set, found by route, status and method, is cheaper.
  const requestSeries = new Map<string, Map<number, Map<string, RequestSeries>>>()
  const seriesOf = (route: string, method: string, status: number): RequestSeries => {
    let byStatus = requestSeries.get(route)
    if (byStatus === undefined) requestSeries.set(route, byStatus = new Map())
    let byMethod = byStatus.get(status)
    if (byMethod === undefined) byStatus.set(status, byMethod = new Map())
    let series = byMethod.get(method)
    if (series === undefined) byMethod.set(method, series = new RequestSeries(requests, { route, method, status: String(status) }))
    return series
  }
  const cacheCounters = new Map<string, ReturnType<typeof cacheResults.labels>>()
  const cacheCounter = (result: string): ReturnType<typeof cacheResults.labels> => {
    let counter = cacheCounters.get(result)
    if (counter === undefined) cacheCounters.set(result, counter = cacheResults.labels({ result }))
    return counter
  }
  const requestObserver = (route: string, method: string, cacheResult: unknown): ((status: number, seconds: number) => void) => {
    const counter = typeof cacheResult === 'string' ? cacheCounter(cacheResult) : undefined
    let status = 0
    let series: RequestSeries | undefined
    return (answered, seconds) => {
      if (series === undefined || answered !== status) [status, series] = [answered, seriesOf(route, method, answered)]
      series.observe(seconds)
      counter?.inc()
    }
  }

  const fanOutParts = new Counter({ name: 'gateway_fanout_parts_total', help: 'Subjects of fan-out reports, by outcome: hit, miss, stale, or the problem code that left one out.', labelNames: ['provider', 'report', 'outcome'], registers })
  const observer: GatewayObserver = {
    upstreamCall: (provider, report, status, seconds, account = '') => { upstream.observe({ provider, account, report, status }, seconds) },
    upstreamRefused: (provider, reason, caller, account = '') => {
      refusals.inc({ provider, account, reason })
      if (caller !== undefined) shareRefusals.inc({ provider, caller })
    },
    callerCharged: (provider, caller, account = '') => { charged.inc({ provider, account, caller }) },
    cacheEvicted: (cache) => { evictions.inc({ cache }) },
    fanOutPart: (provider, report, outcome) => { fanOutParts.inc({ provider, report, outcome }) }
  }
  fastify.decorate('gatewayMetrics', { registry, observer, requestObserver, connectionRefused: () => { refusedConnections.inc() } })
}, { name: 'metrics' })

/** METRICS_API_KEY, when set, as `Authorization: Bearer <key>` (what Prometheus' scrape config sends). */
function metricsGuard (apiKey: string | undefined): (request: FastifyRequest) => void {
  if (apiKey === undefined) return () => {}
  const digest = (text: string): Buffer => createHash('sha256').update(text).digest()
  const expected = digest(apiKey)
  return (request) => {
    const match = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')
    if (match === null || !timingSafeEqual(digest(match[1]), expected)) {
      throw new UnauthorizedError('GET /metrics takes the metrics key as `Authorization: Bearer <METRICS_API_KEY>`.')
    }
  }
}

/** The /metrics handler: Prometheus text, behind METRICS_API_KEY when it is set. */
export function metricsHandler (app: FastifyInstance, apiKey: string | undefined): (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply> {
  const guard = metricsGuard(apiKey)
  return async (request, reply) => {
    guard(request)
    const { registry } = app.gatewayMetrics
    return await reply.type(registry.contentType).send(await registry.metrics())
  }
}

/** METRICS_PORT: /metrics alone on a port of its own, so only the scraper's network reaches it. */
export async function startMetricsServer (app: FastifyInstance, options: { host: string, port: number, apiKey?: string }): Promise<{ url: string, close: () => Promise<void> }> {
  const server = Fastify({ logger: false })
  server.setErrorHandler(async (error, request, reply) => {
    const problem = gatewayErrorOf(error)
    return await reply.code(problem.status).type('application/problem+json').send(problemOf(problem, request.id, request.url.split('?')[0]))
  })
  server.get('/metrics', metricsHandler(app, options.apiKey))
  const url = await server.listen({ host: options.host, port: options.port })
  return { url, close: async () => { await server.close() } }
}

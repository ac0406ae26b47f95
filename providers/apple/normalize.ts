/**
 * Apple metric response → normalized report.
 */
import { UpstreamInvalidResponseError } from '../../src/errors.js'
import { guessMetric, toIsoDate, totalsOf, unitsOf, type FetchedReport, type MetricDef, type UsagePoint } from '../../src/report.js'
import type { AppleEndpoint } from './endpoints.js'
import type { AppleMetricResponse } from './schemas.js'

function invalid (detail: string): UpstreamInvalidResponseError {
  return new UpstreamInvalidResponseError('apple', `apple sent a metrics response the gateway cannot read: ${detail}.`)
}

/**
 * The upstream cursor of the next page: `meta.paging.nextCursor` when Apple
 * gives it, else the `cursor` of `links.next`, but only when that link points
 * at the configured upstream (a link elsewhere is never followed).
 */
export function nextCursorOf (body: Pick<AppleMetricResponse, 'links' | 'meta'> & { data: unknown[] }, baseUrl: string): string | null {
  if (body.meta?.paging.nextCursor !== undefined) return body.meta.paging.nextCursor
  if (body.links.next === undefined) return null
  let next: URL
  try {
    next = new URL(body.links.next, baseUrl)
  } catch {
    return null
  }
  if (next.origin !== new URL(baseUrl).origin) return null
  return next.searchParams.get('cursor')
}

export function normalizeApple (endpoint: AppleEndpoint, id: string, body: AppleMetricResponse, baseUrl: string): FetchedReport {
  const known = new Map(endpoint.metrics.map((def) => [def.upstream, def]))
  const defs = new Map<string, MetricDef>(endpoint.metrics.map((def) => [def.name, def]))
  const data: UsagePoint[] = []
  for (const group of body.data) {
    const dimensions: Record<string, string> = {}
    for (const [upstreamName, name] of Object.entries(endpoint.dimensions)) {
      const ref = group.dimensions?.[upstreamName]?.data
      if (ref !== undefined) dimensions[name] = typeof ref === 'string' ? ref : ref.id
    }
    for (const point of group.dataPoints) {
      const start = toIsoDate(point.start)
      const end = toIsoDate(point.end)
      if (start === undefined || end === undefined) throw invalid('a data point has no readable start or end')
      const metrics: Record<string, number> = {}
      for (const [upstreamName, value] of Object.entries(point.values)) {
        // null means "no value"; a value Apple adds later passes through under its own name.
        if (typeof value !== 'number') continue
        if (!Number.isFinite(value)) throw invalid('a value is not a finite number')
        const def = known.get(upstreamName) ?? guessMetric(upstreamName)
        defs.set(def.name, def)
        metrics[def.name] = value
      }
      data.push({ start, end, dimensions, metrics })
    }
  }
  return {
    provider: 'apple',
    report: endpoint.report,
    subject: { type: endpoint.subject.type, id },
    units: unitsOf(defs.values()),
    data,
    totals: totalsOf(data, (name) => defs.get(name)?.additive ?? true, 'apple'),
    paging: { total: body.meta?.paging.total ?? body.data.length, limit: body.meta?.paging.limit ?? null },
    nextCursor: endpoint.paged ? nextCursorOf(body, baseUrl) : null
  }
}

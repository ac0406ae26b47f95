/**
 * Gupshup daily rows → normalized days → normalized report. Each row is one day.
 */
import { Type } from 'typebox'
import { Compile } from 'typebox/compile'
import type { DayRow } from '../../cache/day-cache.js'
import { UpstreamInvalidResponseError } from '../../errors.js'
import { guessMetric, totalsOf, unitsOf, type FetchedReport, type MetricDef, type UsagePoint } from '../../report.js'
import type { GupshupEndpoint } from './endpoints.js'

const GupshupRow = Type.Object({
  date: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' }),
  currency: Type.Optional(Type.String({ pattern: '^[A-Z]{3}$' }))
})
const isGupshupRow = Compile(GupshupRow)

/** The metric a field is: the table's, else (Gupshup adds fields over time) one named after it. */
function metricOf (endpoint: GupshupEndpoint, field: string): MetricDef {
  return endpoint.metrics.find((def) => def.upstream === field) ?? guessMetric(field)
}

/** Upstream rows → one normalized row per day in [from, to]. */
export function dayRowsOf (endpoint: GupshupEndpoint, rows: unknown[], range: { from: string, to: string }): Map<string, DayRow> {
  const descriptive = new Set(endpoint.descriptiveFields)
  const order = endpoint.metrics.map((def) => def.upstream)
  const days = new Map<string, DayRow>()
  for (const row of rows) {
    if (!isGupshupRow.Check(row)) {
      throw new UpstreamInvalidResponseError('gupshup', 'gupshup sent a usage row without a YYYY-MM-DD date or with an unreadable currency.')
    }
    // The upstream is asked for [from, to]; a row outside it is not part of the answer.
    if (row.date < range.from || row.date > range.to) continue
    const metrics: Record<string, number> = {}
    // Known metrics first, in the table's order, then whatever Gupshup added since; no number is dropped.
    for (const field of new Set([...order, ...Object.keys(row)])) {
      const value = (row as Record<string, unknown>)[field]
      if (descriptive.has(field) || value === undefined) continue
      const number = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : Number.NaN
      if (Number.isFinite(number)) metrics[metricOf(endpoint, field).name] = number
    }
    days.set(row.date, row.currency === undefined ? { metrics } : { metrics, currency: row.currency })
  }
  return days
}

/** Cached or fetched days → the report; days without traffic are left out, as upstream. */
export function dailyReport (endpoint: GupshupEndpoint, appId: string, days: Array<[string, DayRow | null]>): FetchedReport {
  const byName = new Map(endpoint.metrics.map((def) => [def.name, def]))
  const currencies = new Set<string>()
  const data: UsagePoint[] = []
  for (const [day, row] of days) {
    if (row === null) continue
    if (row.currency !== undefined) currencies.add(row.currency)
    for (const name of Object.keys(row.metrics)) if (!byName.has(name)) byName.set(name, guessMetric(name))
    data.push({ start: day, end: day, dimensions: {}, metrics: row.metrics })
  }
  if (currencies.size > 1) {
    throw new UpstreamInvalidResponseError('gupshup', `gupshup reported app '${appId}' in several currencies (${[...currencies].sort().join(', ')}).`)
  }
  return {
    provider: 'gupshup',
    report: endpoint.report,
    subject: { type: endpoint.subject.type, id: appId },
    units: unitsOf(byName.values(), [...currencies][0]),
    data,
    totals: totalsOf(data, (name) => byName.get(name)?.additive ?? false),
    paging: { total: data.length, limit: null },
    nextCursor: null
  }
}

/**
 * Gupshup daily rows → normalized report. Each row is one day.
 */
import { Type } from 'typebox'
import { Compile } from 'typebox/compile'
import { UpstreamInvalidResponseError } from '../../errors.js'
import { guessMetric, totalsOf, unitsOf, type FetchedReport, type MetricDef, type UsagePoint } from '../../report.js'
import type { GupshupEndpoint } from './endpoints.js'

const GupshupRow = Type.Object({
  date: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' }),
  currency: Type.Optional(Type.String({ pattern: '^[A-Z]{3}$' }))
})
const isGupshupRow = Compile(GupshupRow)

export function normalizeGupshup (endpoint: GupshupEndpoint, appId: string, rows: unknown[], range: { from: string, to: string }): FetchedReport {
  const known = new Map(endpoint.metrics.map((def) => [def.upstream, def]))
  const descriptive = new Set(endpoint.descriptiveFields)
  const byDay = new Map<string, UsagePoint>()
  const defs = new Map<string, MetricDef>()
  const currencies = new Set<string>()
  for (const row of rows) {
    if (!isGupshupRow.Check(row)) {
      throw new UpstreamInvalidResponseError('gupshup', 'gupshup sent a usage row without a YYYY-MM-DD date or with an unreadable currency.')
    }
    // The upstream is asked for [from, to]; a row outside it is not part of the answer.
    if (row.date < range.from || row.date > range.to) continue
    if (row.currency !== undefined) currencies.add(row.currency)
    const metrics: Record<string, number> = {}
    // Known metrics first, in the table's order, then whatever Gupshup added since.
    for (const field of [...known.keys(), ...Object.keys(row)]) {
      const value = (row as Record<string, unknown>)[field]
      if (descriptive.has(field) || value === undefined) continue
      const number = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : Number.NaN
      if (!Number.isFinite(number)) continue
      // Gupshup adds fields over time: an unnamed numeric field passes through under its own name.
      const def = known.get(field) ?? guessMetric(field)
      defs.set(def.name, def)
      metrics[def.name] = number
    }
    byDay.set(row.date, { start: row.date, end: row.date, dimensions: {}, metrics })
  }
  if (currencies.size > 1) {
    throw new UpstreamInvalidResponseError('gupshup', `gupshup reported app '${appId}' in several currencies (${[...currencies].sort().join(', ')}).`)
  }
  const data = [...byDay.values()].sort((a, b) => a.start.localeCompare(b.start))
  return {
    provider: 'gupshup',
    report: endpoint.report,
    subject: { type: endpoint.subject.type, id: appId },
    units: unitsOf([...endpoint.metrics, ...defs.values()], [...currencies][0]),
    data,
    totals: totalsOf(data, (name) => defs.get(name)?.additive ?? true),
    paging: { total: data.length, limit: null },
    nextCursor: null
  }
}

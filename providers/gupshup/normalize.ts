/**
 * Gupshup daily rows → normalized days → normalized report. Each row is one day.
 */
import { Type, type Static } from 'typebox'
import { Compile } from 'typebox/compile'
import type { DayRow } from '../../src/days.js'
import type { DirectoryItem } from '../../src/directory.js'
import type { QueryValues } from '../../src/endpoint.js'
import { UpstreamInvalidResponseError } from '../../src/errors.js'
import { guessMetric, totalsOf, unitsOf, type FetchedReport, type MetricDef, type UsagePoint } from '../../src/report.js'
import type { GupshupEndpoint } from './endpoints.js'

const GupshupRow = Type.Object({
  date: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' }),
  currency: Type.Optional(Type.String({ pattern: '^[A-Z]{3}$' }))
})
const isGupshupRow = Compile(GupshupRow)

/** The days a request covers: `from`..`to`. */
export const rangeFromTo = (query: QueryValues): { from: string, to: string } => ({ from: String(query.from), to: String(query.to) })

/** The days a request covers: today. */
export const today = (_query: QueryValues, day: string): { from: string, to: string } => ({ from: day, to: day })

/** The days a request covers: the `year`/`month`. */
export function monthRange (query: QueryValues): { from: string, to: string } {
  const [year, month] = [Number(query.year), Number(query.month)]
  const last = new Date(Date.UTC(year, month, 0)).getUTCDate()
  const prefix = `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}`
  return { from: `${prefix}-01`, to: `${prefix}-${String(last).padStart(2, '0')}` }
}

/** The upstream body's rows, each with the `date` it is about. */
export function rowsOf (endpoint: GupshupEndpoint, body: Record<string, unknown>, today: string): unknown[] | undefined {
  const found = body[endpoint.rows.field]
  const rows = endpoint.rows.single === true ? (typeof found === 'object' && found !== null ? [found] : undefined) : found
  if (!Array.isArray(rows)) return undefined
  return rows.map((row: unknown) => {
    if (typeof row !== 'object' || row === null) return row
    const fields = row as Record<string, unknown>
    if (endpoint.dayOf === 'fetched') return { ...fields, date: today }
    if (endpoint.dayOf === 'dayMonthYear') {
      const [day, month, year] = [fields.day, fields.month, fields.year].map(Number)
      return { ...fields, date: `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}` }
    }
    return fields
  })
}

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
      throw new UpstreamInvalidResponseError('gupshup', 'gupshup sent a row without a readable day or with an unreadable currency.')
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
    totals: totalsOf(data, (name) => byName.get(name)?.additive ?? false, 'gupshup'),
    paging: { total: data.length, limit: null },
    nextCursor: null
  }
}

const ListedApp = Type.Object({
  id: Type.String({ minLength: 1 }),
  name: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  live: Type.Optional(Type.Boolean()),
  stopped: Type.Optional(Type.Boolean())
})
const isListedApp = Compile(ListedApp)

/**
 * The partner's app list: a bare array, or the one array-valued field of an
 * object (Gupshup's documented sample is not valid JSON, so neither shape is
 * certain); anything else is refused. Phone numbers are left out: personal
 * data nobody asked for.
 */
export function appListOf (body: unknown): DirectoryItem[] {
  const arrays = typeof body === 'object' && body !== null && !Array.isArray(body) ? Object.values(body).filter(Array.isArray) : []
  const list: unknown = Array.isArray(body) ? body : arrays.length === 1 ? arrays[0] : undefined
  if (!Array.isArray(list) || !list.every((app) => isListedApp.Check(app))) {
    throw new UpstreamInvalidResponseError('gupshup', 'gupshup sent an app list the gateway cannot read (neither a list of apps nor an object with one).')
  }
  return list.map((app: Static<typeof ListedApp>) => ({
    type: 'app',
    id: app.id,
    name: typeof app.name === 'string' ? app.name : null,
    attributes: { live: app.live ?? null, stopped: app.stopped ?? null }
  }))
}

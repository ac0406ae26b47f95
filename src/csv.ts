/**
 * A report as CSV, for people who open usage in a spreadsheet: one row per
 * point (start, end, each dimension, each metric) under a header row.
 */
import { NO_CURRENCY, type UsageReport } from './report.js'

/** RFC 4180 quoting; a text cell a spreadsheet would run as a formula is prefixed with '. */
export function cell (value: string | number | undefined): string {
  if (value === undefined) return ''
  if (typeof value === 'number') return String(value)
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
}

/** A metric's column header: a money column says its currency (`feesTotal (USD)`), as a spreadsheet has no units row. */
function metricHeader (name: string, unit: string | undefined): string {
  if (unit === undefined || unit === 'count' || unit === 'ratio') return name
  return `${name} (${unit === NO_CURRENCY ? 'currency not stated' : unit})`
}

/** `betaTester` + `email` → `betaTesterEmail`. */
const labelColumn = (dimension: string, field: string): string => dimension + field.charAt(0).toUpperCase() + field.slice(1)

/** With `labels=true`, each labelled dimension column is followed by its label columns (`betaTesterName`, `betaTesterEmail`). */
export function reportToCsv (report: UsageReport): string {
  const labels = report.labels ?? {}
  const dimensions = [...new Set(report.data.flatMap((point) => Object.keys(point.dimensions)))]
  const labelFields = new Map(dimensions.map((name) => [name, [...new Set(Object.values(labels[name] ?? {}).flatMap((label) => Object.keys(label)))]]))
  const dimensionHeaders = dimensions.flatMap((name) => [name, ...(labelFields.get(name) ?? []).map((field) => labelColumn(name, field))])
  const metrics = [...new Set([...Object.keys(report.units), ...report.data.flatMap((point) => Object.keys(point.metrics))])]
  const rows = [['start', 'end', ...dimensionHeaders, ...metrics.map((name) => metricHeader(name, (report.units as Record<string, string>)[name]))].map(cell).join(',')]
  for (const point of report.data) {
    const metricValues = point.metrics as Record<string, number>
    const dimensionValues = point.dimensions as Record<string, string>
    const dimensionCells = dimensions.flatMap((name) => {
      const id = dimensionValues[name]
      const label = id === undefined ? undefined : labels[name]?.[id]
      return [id, ...(labelFields.get(name) ?? []).map((field) => label?.[field] ?? undefined)]
    })
    rows.push([point.start, point.end, ...dimensionCells, ...metrics.map((name) => metricValues[name])].map(cell).join(','))
  }
  return `${rows.join('\r\n')}\r\n`
}

type MediaRange = { type: string, q: number }

function parseAccept (accept: string): MediaRange[] {
  return accept.split(',').map((part) => {
    const [type, ...params] = part.trim().toLowerCase().split(';')
    const q = params.map((param) => /^\s*q=([\d.]+)\s*$/.exec(param)?.[1]).find((value) => value !== undefined)
    return { type: type.trim(), q: q === undefined ? 1 : Number(q) }
  })
}

/** The quality a media type gets from Accept, and whether an exact range gave it. */
function quality (ranges: MediaRange[], type: string): { q: number, exact: boolean } {
  const exact = ranges.find((range) => range.type === type)
  if (exact !== undefined) return { q: exact.q, exact: true }
  const wildcard = ranges.find((range) => range.type === `${type.split('/')[0]}/*`) ?? ranges.find((range) => range.type === '*/*')
  return { q: wildcard?.q ?? 0, exact: false }
}

/** CSV only when the caller prefers it to JSON; JSON stays the default. */
export function prefersCsv (accept: string | undefined): boolean {
  // The common case, no mention of text at all, is decided without parsing.
  if (accept === undefined || !/text\//i.test(accept)) return false
  const ranges = parseAccept(accept)
  const csv = quality(ranges, 'text/csv')
  const json = quality(ranges, 'application/json')
  return csv.q > json.q || (csv.q > 0 && csv.q === json.q && csv.exact && !json.exact)
}

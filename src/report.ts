/**
 * The normalized usage report: the one shape every /usage route answers,
 * whichever upstream it came from.
 */
import { Type, type Static, type TSchema } from 'typebox'
import { UpstreamInvalidResponseError } from './errors.js'

export type UnitKind = 'count' | 'ratio' | 'currency'

/**
 * How a metric's days roll up into a week or a month: `sum` (counts, fees),
 * `last` (a running total: the bucket's last day that has one), `max` (a cap).
 */
export type Rollup = 'sum' | 'last' | 'max'

/** One metric of an upstream report and what the gateway calls it. */
export interface MetricDef {
  upstream: string
  name: string
  unit: UnitKind
  /** Summed into `totals`. Caps, running totals and ratios are not. */
  additive: boolean
  /** How its days roll up into calendar buckets (`granularity`); only `sum` metrics are 0 on a day without traffic. */
  rollup: Rollup
}

export function metric (upstream: string, name: string, unit: UnitKind = 'count', additive = unit !== 'ratio', rollup: Rollup = additive ? 'sum' : 'last'): MetricDef {
  return { upstream, name, unit, additive, rollup }
}

/**
 * A metric the endpoint table does not name (an upstream added it): it keeps
 * its upstream name; unit and additivity are read from the name, so money
 * looks like money and caps, running totals, balances and ratios are never summed.
 */
export function guessMetric (name: string): MetricDef {
  const unit = /ratio|rate|percent/i.test(name) ? 'ratio' : /fee|bill|cap|discount|amount|balance|cost|price|charge/i.test(name) ? 'currency' : 'count'
  // Rolled up by summing, whatever its totals say: the gateway cannot know more of a field it has never seen.
  return metric(name, name, unit, unit !== 'ratio' && !/cumulative|cap|balance|limit/i.test(name), 'sum')
}

const Metrics = Type.Object({}, {
  additionalProperties: Type.Number(),
  description: 'Metric name to value.'
})

export const UsagePointSchema = Type.Object({
  start: Type.String({ format: 'date', description: 'First day of the period (UTC).' }),
  end: Type.String({ format: 'date', description: 'Last day of the period (UTC).' }),
  dimensions: Type.Object({}, {
    additionalProperties: Type.String(),
    description: 'What the point is grouped by, such as `{"betaTester": "<id>"}`; empty when ungrouped. A fan-out\'s points also name their `account`.'
  }),
  metrics: Metrics
})

/** One subject a fan-out left out, and its problem. */
export const IncompletePartSchema = Type.Object({
  subject: Type.Object({ type: Type.String(), id: Type.String() }),
  status: Type.Integer({ description: 'The status this subject alone would have been answered with.' }),
  code: Type.String({ description: 'The problem code (see Errors).' }),
  detail: Type.String(),
  retryAfter: Type.Union([Type.Integer(), Type.Null()], { description: 'Seconds after which a retry may get it; null when unknown.' })
})

export type IncompletePart = Static<typeof IncompletePartSchema>

/** `labels=true`: kind → id → label (`name`, and `email` or `bundleId`). */
export const LabelsSchema = Type.Record(Type.String(), Type.Record(Type.String(), Type.Record(Type.String(), Type.Union([Type.String(), Type.Null()]))), {
  description: 'With `labels=true`: dimension or subject type → id → its name (and email, bundle id). Personal data for testers.'
})

/** The registry's provider names, as a schema: an enum in the spec. */
export const providerNameSchema = (names: readonly string[], options: { description?: string } = {}): TSchema =>
  Type.Union(names.map((name) => Type.Literal(name)), options)

/** The report schema, with `provider` as the schema says (the registry's names in the spec). */
const usageReportSchemaOf = <P extends TSchema>(provider: P) => Type.Object({
  provider,
  report: Type.String({ description: 'The upstream report, such as `betaBuildUsages`.' }),
  account: Type.Union([Type.String(), Type.Null()], {
    description: "The provider account that answered (`default`: the environment's credentials); null when a fan-out spans several (each point's `account` dimension says)."
  }),
  subject: Type.Object({
    type: Type.String({ description: 'What the report is about: build, app, betaGroup, betaTester.' }),
    id: Type.String()
  }),
  units: Type.Object({}, {
    additionalProperties: Type.String(),
    description: 'Metric name to unit: `count`, `ratio`, or the ISO 4217 code of a money metric (`XXX` when the upstream named none).'
  }),
  data: Type.Array(UsagePointSchema),
  totals: Type.Object({}, {
    additionalProperties: Type.Number(),
    description: 'Sum over `data` of each additive metric (counts and fees; never caps, running totals or ratios).'
  }),
  paging: Type.Object({
    total: Type.Integer({ description: "The upstream's count of groups over all pages." }),
    limit: Type.Union([Type.Integer(), Type.Null()], { description: "The upstream's page size; null where the upstream does not page." }),
    next: Type.Union([Type.String(), Type.Null()], { description: 'Gateway path of the next page, or null on the last page.' })
  }),
  incomplete: Type.Optional(Type.Array(IncompletePartSchema, {
    description: 'Fan-out routes only, when some subjects failed: each one left out and why (the answer has the others; `X-Incomplete` counts them).'
  })),
  labels: Type.Optional(LabelsSchema),
  labelsIncomplete: Type.Optional(Type.Boolean({ description: 'With `labels=true`: true when a name lookup failed (budget, upstream error, timeout) and some labels are left out.' }))
}, { $id: 'UsageReport', title: 'UsageReport' })

export const usageReportSchema = (providerNames: readonly string[]): TSchema => usageReportSchemaOf(providerNameSchema(providerNames))

export type UsagePoint = Static<typeof UsagePointSchema>
export type UsageReport = Static<ReturnType<typeof usageReportSchemaOf<ReturnType<typeof Type.String>>>>

/** What a provider hands back: a report whose next page is still an upstream cursor. */
export interface FetchedReport {
  provider: string
  report: string
  subject: { type: string, id: string }
  units: Record<string, string>
  data: UsagePoint[]
  totals: Record<string, number>
  paging: { total: number, limit: number | null }
  nextCursor: string | null
}

/** ISO 4217's code for "no currency": money metrics where the upstream named none. */
export const NO_CURRENCY = 'XXX'

/** Metric name → unit, with money metrics in `currency`. */
export function unitsOf (defs: Iterable<MetricDef>, currency = NO_CURRENCY): Record<string, string> {
  const units: Record<string, string> = {}
  for (const def of defs) units[def.name] = def.unit === 'currency' ? currency : def.unit
  return units
}

// Money is summed in floating point: round totals so 0.007 + 0.101 reads 0.108.
const round = (value: number): number => Math.round(value * 1e6) / 1e6

/**
 * Sums the additive metrics. A sum past the largest number (figures near
 * 1e308) is refused as an unreadable upstream answer: JSON would say `null`.
 */
export function totalsOf (data: UsagePoint[], additive: (name: string) => boolean, provider: string): Record<string, number> {
  const totals: Record<string, number> = {}
  for (const point of data) {
    for (const [name, value] of Object.entries(point.metrics)) {
      if (additive(name)) totals[name] = (totals[name] ?? 0) + value
    }
  }
  for (const name of Object.keys(totals)) {
    if (!Number.isFinite(totals[name])) throw new UpstreamInvalidResponseError(provider, `${provider} sent figures too large to total (${name}).`)
  }
  for (const name of Object.keys(totals)) totals[name] = round(totals[name])
  return totals
}

/** `2022-10-05` or `2022-10-05T00:00:00Z` → `2022-10-05` (UTC); undefined when neither. */
export function toIsoDate (value: string): string | undefined {
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return value
  const time = Date.parse(value)
  return Number.isNaN(time) || !/^\d{4}-\d{2}-\d{2}T/.test(value) ? undefined : new Date(time).toISOString().slice(0, 10)
}

/**
 * Calendar buckets (`granularity`): a report's days rolled up into ISO weeks
 * or calendar months, each bucket clipped to the requested range. Every day
 * of the range counts: on a day without traffic the `sum` metrics are 0 and
 * the others (a running total, a cap) say nothing. Totals are left as they
 * are: a sum over buckets is the sum over days.
 */
import { Type } from 'typebox'
import { addDays, daysBetween } from './days.js'
import { guessMetric, type MetricDef, type Rollup, type UsagePoint } from './report.js'

export const GRANULARITIES = ['day', 'week', 'month'] as const
export type Granularity = typeof GRANULARITIES[number]

export const GranularityParam = Type.Enum([...GRANULARITIES], {
  description: 'One point per `day` (the default; every day of the range, days without traffic too), per ISO `week` (Monday to Sunday) or per calendar `month`; the first and last buckets are clipped to the range.'
})

/** The first day of the bucket `day` falls in. */
export function bucketOf (day: string, granularity: Granularity): string {
  if (granularity === 'month') return `${day.slice(0, 8)}01`
  if (granularity === 'day') return day
  // ISO weeks start on Monday: getUTCDay() is 0 on Sunday.
  const weekday = new Date(`${day}T00:00:00Z`).getUTCDay()
  return addDays(day, -((weekday + 6) % 7))
}

// Money is summed in floating point: round as totals are, so 0.007 + 0.101 reads 0.108.
const round = (value: number): number => Math.round(value * 1e6) / 1e6

function rollInto (metrics: Record<string, number>, name: string, value: number, rule: Rollup): void {
  const held = metrics[name]
  if (held === undefined) metrics[name] = value
  else if (rule === 'sum') metrics[name] = round(held + value)
  else if (rule === 'max') metrics[name] = Math.max(held, value)
  else metrics[name] = value // `last`: days come in order
}

/**
 * One point per bucket of [from, to] (cut at `lastDay`: no day after it
 * appears), from a subject's points of one day each. `defs` says each
 * metric's rule; a metric it does not name is summed.
 */
export function bucketPoints (points: readonly UsagePoint[], range: { from: string, to: string }, granularity: Granularity, defs: readonly MetricDef[], lastDay: string): UsagePoint[] {
  const to = range.to < lastDay ? range.to : lastDay
  if (range.from > to) return []
  const rules = new Map(defs.map((def) => [def.name, def.rollup]))
  const ruleOf = (name: string): Rollup => rules.get(name) ?? guessMetric(name).rollup
  const byDay = new Map(points.map((point) => [point.start, point.metrics]))
  // The metrics that are 0 on a day without traffic: the table's `sum` metrics and any other field seen that sums.
  const zeroes = new Set(defs.filter((def) => def.rollup === 'sum').map((def) => def.name))
  for (const point of points) for (const name of Object.keys(point.metrics)) if (ruleOf(name) === 'sum') zeroes.add(name)
  const buckets: UsagePoint[] = []
  let current: UsagePoint | undefined
  for (const day of daysBetween(range.from, to)) {
    const start = bucketOf(day, granularity)
    if (current === undefined || bucketOf(current.start, granularity) !== start) {
      current = { start: day, end: day, dimensions: {}, metrics: Object.fromEntries([...zeroes].map((name) => [name, 0])) }
      buckets.push(current)
    }
    current.end = day
    const metrics = current.metrics as Record<string, number>
    for (const [name, value] of Object.entries(byDay.get(day) ?? {}) as Array<[string, number]>) rollInto(metrics, name, value, ruleOf(name))
  }
  return buckets
}

/**
 * Calendar days as `YYYY-MM-DD` strings, in UTC.
 */
import { InvalidParameterError } from './errors.js'

export const DAY_MS = 86_400_000

export const isoDay = (time: number): string => new Date(time).toISOString().replace(/T.*$/, '')

const timeOf = (day: string): number => Date.parse(`${day}T00:00:00Z`)

/** The most days one walk may hold: any range a request can ask for is far below it. */
export const MAX_WALK_DAYS = 1000

/**
 * Every day from `from` to `to`, both included. The walk compares times, not
 * strings (after 9999-12-31 comes +010000-01-01, which sorts lower), and is
 * bounded: no input can make it run away.
 */
export function daysBetween (from: string, to: string): string[] {
  const [first, last] = [timeOf(from), timeOf(to)]
  if (Number.isNaN(first) || Number.isNaN(last)) throw new RangeError('daysBetween takes YYYY-MM-DD days')
  if ((last - first) / DAY_MS + 1 > MAX_WALK_DAYS) throw new RangeError(`daysBetween walks at most ${MAX_WALK_DAYS} days`)
  const days: string[] = []
  for (let time = first; time <= last; time += DAY_MS) days.push(isoDay(time))
  return days
}

/** `day` moved by `count` days. */
export const addDays = (day: string, count: number): string => isoDay(timeOf(day) + count * DAY_MS)

/** The first day any report may ask about: the upstreams hold nothing older. */
export const FIRST_DAY = '2000-01-01'

/** The last day a report may ask about: tomorrow (UTC) plus one year. */
export function lastDayOf (now: number): string {
  const tomorrow = new Date(now + DAY_MS)
  tomorrow.setUTCFullYear(tomorrow.getUTCFullYear() + 1)
  return isoDay(tomorrow.getTime())
}

/**
 * A 400 naming `parameter` unless `day` lies in the window
 * [FIRST_DAY, tomorrow + 1 year]: nothing outside it reaches an upstream.
 */
export function assertDayInWindow (parameter: string, day: string, now: number): void {
  const last = lastDayOf(now)
  const time = timeOf(day)
  if (Number.isNaN(time) || time < timeOf(FIRST_DAY) || time > timeOf(last)) {
    throw new InvalidParameterError(parameter, `The query parameter '${parameter}' must be a day from ${FIRST_DAY} to ${last} (tomorrow plus one year).`)
  }
}

/** One day of one subject, normalized; currency when the upstream named one. */
export interface DayRow {
  metrics: Record<string, number>
  currency?: string
}

/**
 * A 400 naming `parameter` when a range starts after tomorrow (UTC): no day of
 * it has happened anywhere yet (an upstream's day may run ahead of UTC, not two days).
 */
export function assertStartedByTomorrow (parameter: string, from: string, now: number): void {
  const tomorrow = isoDay(now + DAY_MS)
  if (from > tomorrow) {
    throw new InvalidParameterError(parameter, `The query parameter '${parameter}' (${from}) must not be after tomorrow (${tomorrow}): no day of the range has happened yet.`)
  }
}

/**
 * Calendar days as `YYYY-MM-DD` strings, in UTC.
 */
export const DAY_MS = 86_400_000

export const isoDay = (time: number): string => new Date(time).toISOString().slice(0, 10)

/** Every day from `from` to `to`, both included. */
export function daysBetween (from: string, to: string): string[] {
  const days: string[] = []
  for (let time = Date.parse(`${from}T00:00:00Z`); isoDay(time) <= to; time += DAY_MS) days.push(isoDay(time))
  return days
}

/** `day` moved by `count` days. */
export const addDays = (day: string, count: number): string => isoDay(Date.parse(`${day}T00:00:00Z`) + count * DAY_MS)

/** One day of one subject, normalized; currency when the upstream named one. */
export interface DayRow {
  metrics: Record<string, number>
  currency?: string
}

/** Ranges of UTC days, as the gateway counts them. */

const DAY_MS = 86_400_000

export function isoDay (time: number): string {
  return new Date(time).toISOString().slice(0, 10)
}

export function today (): string {
  return isoDay(Date.now())
}

/** `last7`/`last30`: the last N days up to today; `mtd`: the first of this month to today. */
export function rangeOf (choice: string, now = Date.now()): { from: string, to: string } {
  const to = isoDay(now)
  if (choice === 'mtd') return { from: `${to.slice(0, 8)}01`, to }
  const days = Number(choice)
  return { from: isoDay(now - (days - 1) * DAY_MS), to }
}

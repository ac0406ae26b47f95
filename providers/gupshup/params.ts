/**
 * The Gupshup routes' parameters (the endpoint rows carry them), and the one
 * rule a schema cannot say.
 */
import { Type } from 'typebox'
import { assertDayInWindow, FIRST_DAY } from '../../src/days.js'
import { InvalidParameterError } from '../../src/errors.js'
import type { QueryValues } from '../../src/endpoint.js'
import { Id, MONTH_PATTERN, YEAR_PATTERN } from '../../src/patterns.js'

/** The longest range one request may ask for. */
export const MAX_RANGE_DAYS = 366

export const APP_EXAMPLE = 'bf9ee64c-3d4d-4ac4-8668-732e577007c4'

const Day = (description: string, example: string): ReturnType<typeof Type.String> =>
  Type.String({ format: 'date', description, examples: [example] })

/** Both days within the window (FIRST_DAY to tomorrow + 1 year), `from` ≤ `to`, within MAX_RANGE_DAYS. */
export function checkDateRange (query: QueryValues, now: number): void {
  const [from, to] = [String(query.from), String(query.to)]
  assertDayInWindow('from', from, now)
  assertDayInWindow('to', to, now)
  if (from > to) throw new InvalidParameterError('to', `The query parameter 'to' (${to}) must not be before 'from' (${from}).`)
  const days = (Date.parse(to) - Date.parse(from)) / 86_400_000 + 1
  if (days > MAX_RANGE_DAYS) throw new InvalidParameterError('to', `The range from 'from' to 'to' must be at most ${MAX_RANGE_DAYS} days; it is ${days}.`)
}

/** `2026-1-5` is read as `2026-01-05`: zero-padding is the schema's form, not the caller's chore. */
const padDate = (value: unknown): unknown =>
  typeof value === 'string' ? value.replace(/^(\d{4})-(\d{1,2})-(\d{1,2})$/, (_, y: string, m: string, d: string) => `${y}-${m.padStart(2, '0')}-${d.padStart(2, '0')}`) : value

export function padDates (query: Record<string, unknown>): void {
  for (const name of ['from', 'to']) if (query[name] !== undefined) query[name] = padDate(query[name])
}

/** `month=1` is January, as `month=01` is. */
export function padMonth (query: Record<string, unknown>): void {
  if (typeof query.month === 'string' && /^\d$/.test(query.month)) query.month = `0${query.month}`
}

/** The month's first day within the window: nothing before FIRST_DAY or after next year is asked for. */
export function checkMonth (query: QueryValues, now: number): void {
  assertDayInWindow('year', `${String(query.year)}-${String(query.month)}-01`, now)
}

export const appParams = Type.Object({ appId: Id('The Gupshup app id.', APP_EXAMPLE) })

export const noQuery = Type.Object({}, { additionalProperties: false })
export const rangeQuery = Type.Object({
  from: Day(`First day, YYYY-MM-DD (UTC; \`2024-1-5\` is read as \`2024-01-05\`), from ${FIRST_DAY} to tomorrow plus one year.`, '2024-01-01'),
  to: Day(`Last day, YYYY-MM-DD (UTC), not before \`from\` and at most ${MAX_RANGE_DAYS} days after it.`, '2024-01-31')
}, { additionalProperties: false })
export const monthQuery = Type.Object({
  year: Type.String({ pattern: YEAR_PATTERN, description: 'The year, YYYY.', examples: ['2024'] }),
  month: Type.String({ pattern: MONTH_PATTERN, description: 'The month, 1 to 12 (`1` or `01`).', examples: ['01'] })
}, { additionalProperties: false })

/**
 * The Gupshup routes' parameters (the endpoint rows carry them), and the one
 * rule a schema cannot say.
 */
import { Type } from 'typebox'
import { GranularityParam } from '../../src/buckets.js'
import { assertDayInWindow, assertStartedByTomorrow, FIRST_DAY } from '../../src/days.js'
import { InvalidParameterError } from '../../src/errors.js'
import type { QueryValues } from '../../src/endpoint.js'
import { Id, ID_LIST_PATTERN, MONTH_PATTERN, YEAR_PATTERN } from '../../src/patterns.js'

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
  assertStartedByTomorrow('from', from, now)
}

/** The most apps one fan-out request may name. */
export const MAX_APPS = 100

/** The range's rules, and at most MAX_APPS apps. */
export function checkAppsRange (query: QueryValues, now: number): void {
  checkDateRange(query, now)
  if (typeof query.apps === 'string') {
    const count = new Set(query.apps.split(',')).size
    if (count > MAX_APPS) throw new InvalidParameterError('apps', `The query parameter 'apps' names ${count} apps; at most ${MAX_APPS}.`)
  }
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
  const first = `${String(query.year)}-${String(query.month)}-01`
  assertDayInWindow('year', first, now)
  assertStartedByTomorrow('month', first, now)
}

export const appParams = Type.Object({ appId: Id('The Gupshup app id.', APP_EXAMPLE) })

export const noQuery = Type.Object({}, { additionalProperties: false })
const From = Day(`First day, YYYY-MM-DD (UTC; \`2024-1-5\` is read as \`2024-01-05\`), from ${FIRST_DAY} to tomorrow.`, '2024-01-01')
const To = Day(`Last day, YYYY-MM-DD (UTC), not before \`from\`, at most ${MAX_RANGE_DAYS} days after it and at most tomorrow plus one year (days after tomorrow are not answered).`, '2024-01-31')
export const rangeQuery = Type.Object({
  from: From,
  to: To,
  granularity: Type.Optional(GranularityParam)
}, { additionalProperties: false })
export const monthQuery = Type.Object({
  year: Type.String({ pattern: YEAR_PATTERN, description: 'The year, YYYY.', examples: ['2024'] }),
  month: Type.String({ pattern: MONTH_PATTERN, description: 'The month, 1 to 12 (`1` or `01`), that has begun by tomorrow.', examples: ['01'] }),
  granularity: Type.Optional(GranularityParam)
}, { additionalProperties: false })

export const appsRangeQuery = Type.Object({
  from: From,
  to: To,
  apps: Type.Optional(Type.String({
    pattern: ID_LIST_PATTERN,
    maxLength: 101 * MAX_APPS,
    description: `App ids, comma-separated, at most ${MAX_APPS}; without it, every app the gateway can serve. An app it cannot serve is a 404 naming it, before any upstream call.`,
    examples: [`${APP_EXAMPLE},5e6f7a8b-1c2d-4e3f-9a0b-c1d2e3f4a5b6`]
  })),
  granularity: Type.Optional(GranularityParam),
  strict: Type.Optional(Type.Boolean({ description: 'Any app that fails fails the request, with its problem (else it is listed in `incomplete`).' }))
}, { additionalProperties: false })

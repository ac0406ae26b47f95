/**
 * The Gupshup routes' parameters, and the one rule a schema cannot say.
 */
import { Type } from 'typebox'
import type { FastifyRequest } from 'fastify'
import { assertDayInWindow, FIRST_DAY } from '../../src/days.js'
import { InvalidParameterError } from '../../src/errors.js'
import { MONTH_PATTERN, YEAR_PATTERN } from '../../src/patterns.js'
import { Id, type RouteParams } from '../report-route.js'

/** The longest range one request may ask for. */
export const MAX_RANGE_DAYS = 366

const Day = (description: string, example: string): ReturnType<typeof Type.String> =>
  Type.String({ format: 'date', description, examples: [example] })

/** Both days within the window (FIRST_DAY to tomorrow + 1 year), `from` ≤ `to`, within MAX_RANGE_DAYS. */
async function checkDateRange (request: FastifyRequest): Promise<void> {
  const { from, to } = request.query as { from: string, to: string }
  const now = request.server.usage.now()
  assertDayInWindow('from', from, now)
  assertDayInWindow('to', to, now)
  if (from > to) throw new InvalidParameterError('to', `The query parameter 'to' (${to}) must not be before 'from' (${from}).`)
  const days = (Date.parse(to) - Date.parse(from)) / 86_400_000 + 1
  if (days > MAX_RANGE_DAYS) throw new InvalidParameterError('to', `The range from 'from' to 'to' must be at most ${MAX_RANGE_DAYS} days; it is ${days}.`)
}

/** The month's first day within the window: nothing before FIRST_DAY or after next year is asked for. */
async function checkMonth (request: FastifyRequest): Promise<void> {
  const { year, month } = request.query as { year: string, month: string }
  assertDayInWindow('year', `${year}-${month}-01`, request.server.usage.now())
}

const appParams = Type.Object({ appId: Id('The Gupshup app id.', 'bf9ee64c-3d4d-4ac4-8668-732e577007c4') })

/** Parameters of each Gupshup endpoint, by endpoint key. */
export const gupshupRouteParams: Record<string, RouteParams> = {
  'gupshup.apps.dailyUsage': {
    params: appParams,
    querystring: Type.Object({
      from: Day(`First day, YYYY-MM-DD (UTC), from ${FIRST_DAY} to tomorrow plus one year.`, '2024-01-01'),
      to: Day(`Last day, YYYY-MM-DD (UTC), not before \`from\` and at most ${MAX_RANGE_DAYS} days after it.`, '2024-01-31')
    }, { additionalProperties: false }),
    exampleId: 'bf9ee64c-3d4d-4ac4-8668-732e577007c4',
    preHandler: checkDateRange
  },
  'gupshup.apps.discount': {
    params: appParams,
    querystring: Type.Object({
      year: Type.String({ pattern: YEAR_PATTERN, description: 'The year, YYYY.', examples: ['2024'] }),
      month: Type.String({ pattern: MONTH_PATTERN, description: 'The month, MM (01 to 12).', examples: ['01'] })
    }, { additionalProperties: false }),
    exampleId: 'bf9ee64c-3d4d-4ac4-8668-732e577007c4',
    preHandler: checkMonth
  },
  'gupshup.apps.wallet': {
    params: appParams,
    querystring: Type.Object({}, { additionalProperties: false }),
    exampleId: 'bf9ee64c-3d4d-4ac4-8668-732e577007c4'
  }
}

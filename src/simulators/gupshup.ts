/**
 * A real HTTP stand-in for Gupshup's Partner API app usage endpoint: one
 * token per app, 10 requests a minute per token, Gupshup's error bodies, and
 * deterministic daily rows (days without traffic are left out, as Gupshup does).
 */
import Fastify, { type FastifyInstance } from 'fastify'
import { DAY_MS, isoDay } from '../days.js'
import { intBelow, randomFrom } from './random.js'

export interface GupshupApp {
  token: string
  name: string
}

export interface GupshupSimulatorOptions {
  /** appId → the app's token and name. */
  apps: Record<string, GupshupApp>
  perMinuteLimit?: number
  now?: () => number
}

export interface GupshupSimulator {
  server: FastifyInstance
  /** Usage requests answered (any status): app id, range and status. */
  calls: Array<{ appId: string, from: string, to: string, status: number }>
}

export const GUPSHUP_DEMO_APPS: Record<string, string> = {
  'bf9ee64c-3d4d-4ac4-8668-732e577007c4': 'Jan10pass',
  '5e6f7a8b-1c2d-4e3f-9a0b-c1d2e3f4a5b6': 'OrderAlerts'
}

const DATE = /^\d{4}-\d{2}-\d{2}$/

function isRealDate (text: string): boolean {
  return DATE.test(text) && isoDay(Date.parse(`${text}T00:00:00Z`)) === text
}

/** One day of one app, or undefined for a day without traffic. */
export function usageRow (appId: string, name: string, day: string, cumulativeBefore: number): Record<string, unknown> | undefined {
  const random = randomFrom(`gupshup/${appId}/${day}`)
  if (random() < 0.2) return undefined
  const incomingMsg = intBelow(random, 60)
  const outgoingMsg = intBelow(random, 120)
  const outgoingMediaMsg = intBelow(random, 1 + Math.floor(outgoingMsg / 5))
  const templateMsg = intBelow(random, 1 + Math.floor(outgoingMsg / 3))
  const marketing = intBelow(random, 4)
  const utility = intBelow(random, 4)
  const authentication = intBelow(random, 3)
  const internationalAuthentication = intBelow(random, 2)
  const service = intBelow(random, 6)
  const round3 = (value: number): number => Math.round(value * 1000) / 1000
  const gsFees = round3((incomingMsg + outgoingMsg) * 0.001)
  const waFees = round3(marketing * 0.025 + utility * 0.004 + authentication * 0.0035 + internationalAuthentication * 0.03)
  const discount = 0
  const totalFees = round3(gsFees + waFees - discount)
  return {
    appId,
    appName: name,
    authentication,
    cumulativeBill: round3(cumulativeBefore + totalFees),
    currency: 'USD',
    date: day,
    discount,
    fep: intBelow(random, 2),
    ftc: intBelow(random, 2),
    gsCap: 75.0,
    gsFees,
    incomingMsg,
    outgoingMsg,
    outgoingMediaMsg,
    marketing,
    service,
    templateMsg,
    templateMediaMsg: intBelow(random, 1 + templateMsg),
    totalFees,
    totalMsg: incomingMsg + outgoingMsg,
    utility,
    waFees,
    internationalAuthentication
  }
}

/** The rows Gupshup would return for [from, to], up to today. */
export function usageRows (appId: string, name: string, from: string, to: string, today: string): Array<Record<string, unknown>> {
  const rows: Array<Record<string, unknown>> = []
  const last = to < today ? to : today
  // The running bill restarts each month: start from the 1st of `from`'s month.
  let cumulative = 0
  for (let time = Date.parse(`${from.slice(0, 8)}01T00:00:00Z`); isoDay(time) <= last; time += DAY_MS) {
    const day = isoDay(time)
    if (day.endsWith('-01')) cumulative = 0
    const row = usageRow(appId, name, day, cumulative)
    if (row === undefined) continue
    cumulative = row.cumulativeBill as number
    if (day >= from) rows.push(row)
  }
  return rows
}

export function createGupshupSimulator (options: GupshupSimulatorOptions): GupshupSimulator {
  const now = options.now ?? Date.now
  const limit = options.perMinuteLimit ?? 10
  const calls: GupshupSimulator['calls'] = []
  const recent = new Map<string, number[]>()
  const server = Fastify({ logger: false })
  const error = (message: string): { status: string, message: string } => ({ status: 'error', message })

  server.get<{ Params: { appId: string }, Querystring: Record<string, string | undefined> }>('/partner/app/:appId/usage', async (request, reply) => {
    const { appId } = request.params
    const { from = '', to = '' } = request.query
    const answer = (status: number, body: unknown): unknown => {
      calls.push({ appId, from, to, status })
      return reply.code(status).send(body)
    }
    const token = request.headers.authorization
    const app = options.apps[appId]
    if (token === undefined || app === undefined || app.token !== token) return answer(401, error('Authentication Failed'))
    const minuteAgo = now() - 60_000
    const times = (recent.get(token) ?? []).filter((time) => time > minuteAgo)
    if (times.length >= limit) return answer(429, error('Too Many Requests'))
    times.push(now())
    recent.set(token, times)
    if (!isRealDate(from) || !isRealDate(to) || from > to) return answer(400, error('Invalid from or to date. Dates must be YYYY-MM-DD and from must not be after to.'))
    return answer(200, { status: 'success', partnerAppUsageList: usageRows(appId, app.name, from, to, isoDay(now())) })
  })

  return { server, calls }
}

/**
 * A real HTTP stand-in for Gupshup's Partner API app usage endpoint: one
 * token per app, 10 requests a minute per token, Gupshup's error bodies, and
 * deterministic daily rows (days without traffic are left out, as Gupshup does).
 */
import { randomBytes } from 'node:crypto'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import { DAY_MS, isoDay } from '../../src/days.js'
import { intBelow, randomFrom } from '../../src/random.js'

export interface GupshupApp {
  token: string
  name: string
}

export interface GupshupSimulatorOptions {
  /** appId → the app's token and name. */
  apps: Record<string, GupshupApp>
  /** Partner sign-in: who may log in, and get each app's token. */
  partner?: { email: string, secret: string }
  perMinuteLimit?: number
  now?: () => number
}

export interface GupshupSimulator {
  server: FastifyInstance
  /** Usage requests answered (any status): app id, range and status. */
  calls: Array<{ appId: string, from: string, to: string, status: number }>
  /** Every other request (discount, wallet, login, token), by path. */
  otherCalls: string[]
  /** Gives the app a new token; the old one is refused from now on (as when a token is revoked). */
  rotateToken: (appId: string) => string
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
  const otherCalls: string[] = []
  const recent = new Map<string, number[]>()
  const partnerTokens = new Set<string>()
  const apps = structuredClone(options.apps)
  const server = Fastify({ logger: false })
  const error = (message: string): { status: string, message: string } => ({ status: 'error', message })
  server.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(String(body))))
  })
  server.addHook('onRequest', async (request) => { if (!request.url.includes('/usage?')) otherCalls.push(request.url.split('?')[0]) })

  /** 10 calls a minute per key; true when this call is over. */
  function overLimit (key: string): boolean {
    const minuteAgo = now() - 60_000
    const times = (recent.get(key) ?? []).filter((time) => time > minuteAgo)
    if (times.length >= limit) return true
    times.push(now())
    recent.set(key, times)
    return false
  }

  /** The app whose token the request carries, or undefined after answering 401/429. */
  function appOf (request: FastifyRequest<{ Params: { appId: string } }>, reply: FastifyReply): GupshupApp | undefined {
    const token = request.headers.authorization
    const app = apps[request.params.appId]
    if (token === undefined || app === undefined || app.token !== token) {
      reply.code(401).send(error('Authentication Failed'))
      return undefined
    }
    if (overLimit(token)) {
      reply.code(429).send(error('Too Many Requests'))
      return undefined
    }
    return app
  }

  server.get<{ Params: { appId: string }, Querystring: Record<string, string | undefined> }>('/partner/app/:appId/usage', async (request, reply) => {
    const { appId } = request.params
    const { from = '', to = '' } = request.query
    const app = appOf(request, reply)
    calls.push({ appId, from, to, status: app === undefined ? reply.statusCode : 200 })
    if (app === undefined) return reply
    if (!isRealDate(from) || !isRealDate(to) || from > to) {
      calls[calls.length - 1].status = 400
      return reply.code(400).send(error('Invalid from or to date. Dates must be YYYY-MM-DD and from must not be after to.'))
    }
    return { status: 'success', partnerAppUsageList: usageRows(appId, app.name, from, to, isoDay(now())) }
  })

  server.get<{ Params: { appId: string }, Querystring: Record<string, string | undefined> }>('/partner/app/:appId/discount', async (request, reply) => {
    const app = appOf(request, reply)
    if (app === undefined) return reply
    const { year = '', month = '' } = request.query
    if (!/^\d{4}$/.test(year) || !/^(0[1-9]|1[0-2])$/.test(month)) return reply.code(400).send(error('Invalid year or month'))
    const last = new Date(Date.UTC(Number(year), Number(month), 0)).getUTCDate()
    const rows = usageRows(request.params.appId, app.name, `${year}-${month}-01`, `${year}-${month}-${last}`, isoDay(now()))
    // Gupshup's discount rows carry no status, no currency: as documented.
    return {
      dailyAppDiscountList: rows.map((row) => ({
        appId: request.params.appId,
        cumulativeBill: row.cumulativeBill,
        dailyBill: row.totalFees,
        day: Number((row.date as string).slice(8)),
        discount: row.discount,
        gsCap: row.gsCap,
        gsFees: row.gsFees,
        month: Number(month),
        partnerId: 15,
        year: Number(year)
      }))
    }
  })

  server.get<{ Params: { appId: string } }>('/partner/app/:appId/wallet/balance', async (request, reply) => {
    const app = appOf(request, reply)
    if (app === undefined) return reply
    const random = randomFrom(`wallet/${request.params.appId}/${isoDay(now())}`)
    return { status: 'success', walletResponse: { currency: 'USD', currentBalance: Math.round(random() * 50_000) / 100, overDraftLimit: -20 } }
  })

  server.post<{ Body: Record<string, string> | undefined }>('/partner/account/login', async (request, reply) => {
    if (overLimit('login')) return await reply.code(429).send(error('Too Many Requests'))
    const { email, password } = request.body ?? {}
    if (options.partner === undefined || email !== options.partner.email || password !== options.partner.secret) {
      return await reply.code(401).send(error('Invalid email or password'))
    }
    const token = `partner.${randomBytes(12).toString('hex')}`
    partnerTokens.add(token)
    return { token, id: 1043, name: 'simulated partner', email, billingType: 'PREPAID' }
  })

  server.get<{ Params: { appId: string } }>('/partner/app/:appId/token/', async (request, reply) => {
    if (!partnerTokens.has(request.headers.authorization ?? '')) return await reply.code(401).send(error('Unauthorised'))
    const app = apps[request.params.appId]
    if (app === undefined) return await reply.code(400).send(error('Invalid App Details'))
    return { status: 'success', token: { token: app.token, authoriserId: request.params.appId, requestorId: '1043', createdOn: now(), modifiedOn: now(), expiresOn: 0, active: true } }
  })

  // The partner's apps, a page at a time; each with a phone number, which the gateway must leave out.
  server.get<{ Querystring: Record<string, string | undefined> }>('/partner/app/list', async (request, reply) => {
    if (!partnerTokens.has(String(request.headers.token ?? ''))) return await reply.code(401).send(error('Unauthorised'))
    const pageNo = Number(request.query.pageNo ?? 1)
    const pageSize = Number(request.query.pageSize ?? 100)
    if (!Number.isInteger(pageNo) || pageNo < 1 || !Number.isInteger(pageSize) || pageSize < 1) return await reply.code(400).send(error('Invalid pageNo or pageSize'))
    const page = Object.entries(apps).slice((pageNo - 1) * pageSize, pageNo * pageSize)
    return {
      status: 'success',
      partnerAppsList: page.map(([id, app], index) => ({ id, name: app.name, live: true, stopped: false, phone: `91981${String(index).padStart(7, '0')}`, createdOn: 1_700_000_000_000 }))
    }
  })

  const rotateToken = (appId: string): string => {
    apps[appId].token = `sk_${randomBytes(16).toString('hex')}`
    return apps[appId].token
  }

  return { server, calls, otherCalls, rotateToken }
}

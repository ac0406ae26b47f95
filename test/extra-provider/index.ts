/**
 * A small provider that is not in the registry: "meter", one report of
 * messages sent per account and day, with its own simulator on loopback.
 * It shows that a provider is one folder: nothing else in the gateway names it.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Type } from 'typebox'
import { baseUrl, value, type Env } from '../../src/config.js'
import { rowOf, upstreamPathOf, upstreamQueryOf, type ReportEndpoint } from '../../src/endpoint.js'
import { UpstreamInvalidResponseError } from '../../src/errors.js'
import { Id } from '../../src/patterns.js'
import type { Provider, RunningSimulator } from '../../src/provider.js'
import { metric, totalsOf, unitsOf } from '../../src/report.js'
import { BackoffGate } from '../../src/upstream/budget.js'
import { guardedGet } from '../../src/upstream/guarded-call.js'
import { UpstreamHttp } from '../../src/upstream/http.js'
import { statusError } from '../../src/upstream/status-error.js'

interface MeterConfig { baseUrl: string, token?: string }

const row = rowOf<ReportEndpoint>()
const sent = metric('sent', 'messages')

const endpoints = [row({
  provider: 'meter',
  key: 'meter.accounts.daily',
  report: 'dailyMessages',
  route: '/usage/meter/accounts/:accountId',
  summary: "An account's messages on one day.",
  subject: { type: 'account', param: 'accountId' },
  params: Type.Object({ accountId: Id('The account id.', 'acme-1') }),
  querystring: Type.Object({ day: Type.String({ format: 'date', description: 'The day, YYYY-MM-DD.' }) }, { additionalProperties: false }),
  exampleId: 'acme-1',
  upstreamPath: '/v1/accounts/{id}/messages',
  query: { day: 'date' },
  paged: false,
  metrics: [sent],
  cache: { ttlSeconds: 60 }
})]

export interface RunningMeterSimulator extends RunningSimulator<MeterConfig> {
  /** Every request the simulator answered, by path and query. */
  calls: string[]
}

/** A stand-in upstream: one token, `{ "sent": <n> }` per account and day. */
async function startSimulator (): Promise<RunningMeterSimulator> {
  const token = 'meter-simulated-token-0123456789'
  const calls: string[] = []
  const server: Server = createServer((request, response) => {
    calls.push(request.url ?? '')
    const ok = request.headers.authorization === `Bearer ${token}`
    response.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' })
    response.end(JSON.stringify(ok ? { sent: 42 } : { error: 'unauthorized' }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    baseUrl: url,
    calls,
    configure: (cfg) => ({ ...cfg, baseUrl: url, token }),
    close: async () => { await new Promise((resolve) => server.close(resolve)) }
  }
}

export const meter = {
  name: 'meter',
  tag: { description: 'Messages sent, from the Meter API' },
  endpoints,
  config: {
    parse: (env: Env): MeterConfig => ({ baseUrl: baseUrl(env, 'METER_BASE_URL', 'https://meter.example.com'), token: value(env, 'METER_TOKEN') }),
    isConfigured: (cfg: MeterConfig) => cfg.token !== undefined
  },
  createSource (cfg: MeterConfig, { dispatcher, now, timeoutMs, retries, observer, budget }) {
    const http = new UpstreamHttp({ provider: 'meter', baseUrl: cfg.baseUrl, timeoutMs, dispatcher })
    const guard = { provider: 'meter', budget: budget('calls', 100, 60_000), gate: new BackoffGate(60_000, 600_000, now), timeoutMs, ...retries, observer }
    return {
      async fetchReport (endpoint, id, query, context) {
        const search = upstreamQueryOf(endpoint, query).toString()
        const path = `${upstreamPathOf(endpoint, id)}?${search}`
        const response = await guardedGet({ http, guard, key: 'token', path, headers: { authorization: `Bearer ${cfg.token ?? ''}` }, report: endpoint.report, context })
        if (response.status !== 200) throw statusError('meter', response, { notFound: `meter has no account '${id}'.`, credential: 'the Meter token' })
        const body = response.json as { sent?: unknown }
        if (typeof body.sent !== 'number') throw new UpstreamInvalidResponseError('meter', 'meter sent no count.')
        const day = String(query.day)
        const data = [{ start: day, end: day, dimensions: {}, metrics: { messages: body.sent } }]
        return {
          provider: 'meter',
          report: endpoint.report,
          subject: { type: endpoint.subject.type, id },
          units: unitsOf(endpoint.metrics),
          data,
          totals: totalsOf(data, () => true, 'meter'),
          paging: { total: 1, limit: null },
          nextCursor: null
        }
      },
      close: async () => { await http.close() }
    }
  },
  simulator: { start: startSimulator }
} as const satisfies Provider<'meter', MeterConfig>

/**
 * Issue 8, H2/H3: the upstream calls a request causes are charged to its
 * caller; while a credential is contended no caller spends more than its
 * share; cached answers keep flowing; no-cache under the floor is a hit.
 */
import t from 'tap'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { GUPSHUP_APP, appleEnv, gateway, loopbackUpstream, simulatedGateway } from './helpers.js'

const KEY_A = 'key-a-0123456789abcdef'
const KEY_B = 'key-b-0123456789abcdef'
const KEYS = `a=${KEY_A},b=${KEY_B}`
const as = (key: string, url: string, headers: Record<string, string> = {}): { url: string, headers: Record<string, string> } => ({ url, headers: { 'x-api-key': key, ...headers } })
const usage = (from: string, to: string): string => `/usage/gupshup/apps/${GUPSHUP_APP}?from=${from}&to=${to}`

/** An Apple stand-in: 12 testers in pages of `limit`, and a small hourly limit in X-Rate-Limit. */
function appleStandIn (hourLimit: number, calls: string[]): (request: IncomingMessage, response: ServerResponse) => void {
  return (request, response) => {
    const url = new URL(request.url ?? '/', 'http://apple')
    calls.push(url.pathname + url.search)
    const limit = Number(url.searchParams.get('limit') ?? 50)
    const offset = Number(url.searchParams.get('cursor') ?? 0)
    const total = url.pathname.includes('/builds/') ? 1 : 12
    const data = Array.from({ length: Math.max(0, Math.min(limit, total - offset)) }, (_, index) => ({
      dataPoints: [{ start: '2024-01-01', end: '2024-01-07', values: { sessionCount: 2, crashCount: 1 } }],
      dimensions: { betaTesters: { data: `tester-${offset + index}` } }
    }))
    const nextCursor = offset + limit < total ? String(offset + limit) : undefined
    response.writeHead(200, { 'content-type': 'application/json', 'x-rate-limit': `user-hour-lim:${hourLimit};user-hour-rem:1000;` })
    response.end(JSON.stringify({ data, links: { self: url.href }, meta: { paging: { total, limit, nextCursor } } }))
  }
}

t.test('Apple: a caller over its share of a contended key gets 429 caller_upstream_share; all=true counts every page; cached answers flow', async (t) => {
  const calls: string[] = []
  const base = await loopbackUpstream(t, appleStandIn(20, calls))
  const gw = await gateway(t, { env: { ...await appleEnv(base), GATEWAY_API_KEYS: KEYS } })
  const { app } = gw
  t.equal((await app.inject(as(KEY_B, '/usage/apple/builds/build-b1'))).statusCode, 200, 'b asks: the key is now contended')
  const first = await app.inject(as(KEY_A, '/usage/apple/apps/app1/beta-testers?limit=2&all=true'))
  t.equal(first.statusCode, 200)
  t.equal(first.json().data.length, 12)
  // Apple allows 20 an hour here: a's share is 10; its second all=true runs out after four more pages.
  const second = await app.inject(as(KEY_A, '/usage/apple/apps/app2/beta-testers?limit=2&all=true'))
  t.equal(second.statusCode, 429)
  t.equal(second.json().code, 'caller_upstream_share')
  t.ok(Number(second.headers['retry-after']) >= 1, 'with Retry-After')
  t.equal(calls.length, 11, 'one call for b, ten for a')
  t.equal((await app.inject(as(KEY_B, '/usage/apple/builds/build-b2'))).statusCode, 200, 'b still gets its calls')
  const cached = await app.inject(as(KEY_A, '/usage/apple/apps/app1/beta-testers?limit=2&all=true'))
  t.equal(cached.statusCode, 200, 'cached answers keep flowing to the caller over its share')
  t.equal(cached.headers['x-cache'], 'HIT')
  const line = gw.logs.find((entry) => entry.caller === 'a' && entry.url === '/usage/apple/apps/app1/beta-testers?limit=2&all=true')
  t.match(line, { caller: 'a', upstreamCalls: 6 }, "the log line charges a's six pages to a")
  const metrics = (await app.inject('/metrics')).body
  t.match(metrics, /gateway_caller_upstream_calls_total\{provider="apple",account="default",caller="a"\} 10/)
  t.match(metrics, /gateway_caller_upstream_calls_total\{provider="apple",account="default",caller="b"\} 2/)
  t.match(metrics, /gateway_caller_share_refusals_total\{provider="apple",caller="a"\} 1/)
  t.notMatch(metrics, new RegExp(`${KEY_A}|${KEY_B}`), 'names, never keys')
})

t.test('Apple: a caller alone may use the whole budget (an idle budget is not wasted)', async (t) => {
  const calls: string[] = []
  const base = await loopbackUpstream(t, appleStandIn(4, calls))
  const { app } = await gateway(t, { env: { ...await appleEnv(base), GATEWAY_API_KEYS: KEYS } })
  for (const build of ['b1', 'b2', 'b3', 'b4', 'b5']) t.equal((await app.inject(as(KEY_A, `/usage/apple/builds/${build}`))).statusCode, 200)
  t.equal(calls.length, 5)
})

t.test('Gupshup: one key cannot starve another of an app budget; no-cache under the floor is answered from the cache', async (t) => {
  let clock = Date.parse('2026-06-10T12:00:00Z')
  const { app, sims } = await simulatedGateway(t, { now: () => clock, env: { GATEWAY_API_KEYS: KEYS } })
  t.equal((await app.inject(as(KEY_B, usage('2024-01-01', '2024-01-31')))).statusCode, 200)
  const months = ['2024-03', '2024-05', '2024-07', '2024-09', '2024-11', '2025-01']
  const statuses: number[] = []
  let refusal
  for (const month of months) {
    const res = await app.inject(as(KEY_A, usage(`${month}-01`, `${month}-20`)))
    statuses.push(res.statusCode)
    if (res.statusCode !== 200) refusal = res
  }
  // Ten calls a minute: a's share is five.
  t.same(statuses, [200, 200, 200, 200, 200, 429])
  t.equal(refusal?.json().code, 'caller_upstream_share')
  t.ok(Number(refusal?.headers['retry-after']) > 0 && Number(refusal?.headers['retry-after']) <= 61)
  t.equal((await app.inject(as(KEY_B, usage('2025-03-01', '2025-03-31')))).statusCode, 200, 'b gets its call')
  const upstream = sims.gupshup.calls.length
  for (let i = 0; i < 10; i++) {
    const forced = await app.inject(as(KEY_A, usage('2024-03-01', '2024-03-20'), { 'cache-control': 'no-cache' }))
    t.equal(forced.headers['x-cache'], 'HIT', 'no-cache on days younger than the floor')
  }
  t.equal(sims.gupshup.calls.length, upstream, 'ten forced refreshes, no upstream call')
  clock += 62_000
  const refreshed = await app.inject(as(KEY_A, usage('2024-03-01', '2024-03-20'), { 'cache-control': 'no-cache' }))
  t.equal(refreshed.headers['x-cache'], 'MISS', 'past the floor, no-cache refreshes (and counts against the share)')
  t.equal(sims.gupshup.calls.length, upstream + 1)
})

t.test('without keys the caller is the client address for shares, and `anonymous` in metrics', async (t) => {
  const { app } = await simulatedGateway(t, { env: { GUPSHUP_RATE_LIMIT_PER_MINUTE: '4' } })
  const from = (ip: string, range: string): { url: string, remoteAddress: string } => ({ url: usage(`${range}-01`, `${range}-10`), remoteAddress: ip })
  t.equal((await app.inject(from('10.9.8.1', '2023-01'))).statusCode, 200)
  t.equal((await app.inject(from('10.9.8.2', '2023-03'))).statusCode, 200)
  t.equal((await app.inject(from('10.9.8.2', '2023-05'))).statusCode, 200)
  const over = await app.inject(from('10.9.8.2', '2023-07'))
  t.equal(over.json().code, 'caller_upstream_share', 'the second address is over its half of four')
  t.equal((await app.inject(from('10.9.8.1', '2023-09'))).statusCode, 200, 'the first is not')
  const metrics = (await app.inject('/metrics')).body
  t.match(metrics, /gateway_caller_upstream_calls_total\{provider="gupshup",account="default",caller="anonymous"\} 4/)
  t.notMatch(metrics, /10\.9\.8\./, 'no address in a metric label')
})

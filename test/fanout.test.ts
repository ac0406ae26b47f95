/**
 * Issue 11: one report over many Gupshup apps (`/usage/gupshup/usage`), each
 * app's days from its own cache, and honest partial answers: `incomplete`,
 * `X-Incomplete`, `strict=true`, all-fail, and a retry that asks only for
 * what is missing.
 */
import t from 'tap'
import { loadConfig } from '../providers/index.js'
import { GUPSHUP_APP, GUPSHUP_ORIGIN, JSON_HEADERS, gateway, loopbackUpstream, mockedGateway, simulatedGateway } from './helpers.js'

interface Point { start: string, end: string, dimensions: Record<string, string>, metrics: Record<string, number> }

const APPS = [GUPSHUP_APP, 'app-b', 'app-c', 'app-spent', 'app-gone']
const [A, B, C, SPENT, GONE] = APPS
const tokens = Object.fromEntries(APPS.map((id, index) => [id, `sk_fanout_token_${index}_0123456789`]))
const env = { GUPSHUP_APP_TOKENS: JSON.stringify(tokens), GUPSHUP_RATE_LIMIT_PER_MINUTE: '1', LOG_LEVEL: 'silent' }
const RANGE = 'from=2024-01-01&to=2024-01-07'

/** One app's week: `messages` messages on Jan 2 and 5, in USD. */
function week (appId: string, messages: number): object {
  return {
    status: 'success',
    partnerAppUsageList: ['2024-01-02', '2024-01-05'].map((date) => ({ date, appId, currency: 'USD', totalMsg: messages, totalFees: messages / 100, cumulativeBill: messages, gsCap: 75 }))
  }
}

t.test('fan-out over 5 apps, one with a spent budget and one unknown upstream: 200 with the others, incomplete lists both; a retry fetches only what is missing', async (t) => {
  let time = Date.parse('2026-11-30T10:00:00Z')
  const { app, mock, gupshup } = await mockedGateway(t, { env, now: () => time })
  // SPENT's one call a minute goes on another range first.
  gupshup.intercept({ path: `/partner/app/${SPENT}/usage?from=2023-01-01&to=2023-01-31`, method: 'GET' }).reply(200, week(SPENT, 1), { headers: JSON_HEADERS })
  t.equal((await app.inject(`/usage/gupshup/apps/${SPENT}?from=2023-01-01&to=2023-01-02`)).statusCode, 200)
  for (const [id, messages] of [[A, 10], [B, 20], [C, 30]] as const) {
    gupshup.intercept({ path: new RegExp(`^/partner/app/${id}/usage\\?`), method: 'GET' }).reply(200, week(id, messages), { headers: JSON_HEADERS })
  }
  gupshup.intercept({ path: new RegExp(`^/partner/app/${GONE}/usage\\?`), method: 'GET' }).reply(404, { status: 'error', message: 'App not found' }, { headers: JSON_HEADERS })

  const res = await app.inject(`/usage/gupshup/usage?${RANGE}&apps=${APPS.join(',')}`)
  t.equal(res.statusCode, 200)
  t.equal(res.headers['x-incomplete'], '2')
  t.equal(res.headers['x-cache'], 'MISS')
  t.match(res.headers['cache-control'], /max-age=0$/, 'an incomplete answer is not to be kept')
  const report = res.json()
  t.same(report.subject, { type: 'provider', id: 'gupshup' })
  t.match(report.incomplete, [
    { subject: { type: 'app', id: SPENT }, status: 429, code: 'upstream_rate_limited', retryAfter: Number },
    { subject: { type: 'app', id: GONE }, status: 404, code: 'not_found', retryAfter: null }
  ])
  t.equal(report.incomplete.length, 2)
  t.ok(report.incomplete[0].retryAfter > 0 && report.incomplete[0].retryAfter <= 61, 'retryAfter says when the budget frees up')
  const data = report.data as Point[]
  t.same([...new Set(data.map((point) => point.dimensions.app))], [A, B, C], 'every point carries its app; the complete apps are all there')
  t.equal(data.length, 21, 'a point per app and day of the range')
  t.equal(report.totals.messages, 2 * (10 + 20 + 30), 'totals over all apps')
  t.notOk('cumulativeBill' in report.totals)
  t.equal(report.units.feesTotal, 'USD')

  // A minute later: the budget is free, the 404 forgotten; A, B and C are answered from their day caches.
  time += 62_000
  gupshup.intercept({ path: new RegExp(`^/partner/app/${SPENT}/usage\\?`), method: 'GET' }).reply(200, week(SPENT, 40), { headers: JSON_HEADERS })
  gupshup.intercept({ path: new RegExp(`^/partner/app/${GONE}/usage\\?`), method: 'GET' }).reply(200, week(GONE, 50), { headers: JSON_HEADERS })
  const retry = await app.inject(`/usage/gupshup/usage?${RANGE}&apps=${APPS.join(',')}`)
  t.equal(retry.statusCode, 200)
  t.equal(retry.headers['x-incomplete'], undefined)
  t.notOk('incomplete' in retry.json())
  t.equal(retry.json().data.length, 35)
  t.equal(retry.json().totals.messages, 2 * (10 + 20 + 30 + 40 + 50))
  t.same(mock.pendingInterceptors(), [], 'each upstream answer was used once: the retry asked only for the two missing apps')

  const again = await app.inject(`/usage/gupshup/usage?${RANGE}&apps=${APPS.join(',')}`)
  t.equal(again.headers['x-cache'], 'HIT', 'HIT when every part was one')
  t.equal(again.body, retry.body)
  t.equal((await app.inject({ url: `/usage/gupshup/usage?${RANGE}&apps=${APPS.join(',')}`, headers: { 'if-none-match': String(again.headers.etag) } })).statusCode, 304)
  const weekly = (await app.inject(`/usage/gupshup/usage?${RANGE}&apps=${A},${B}&granularity=week`)).json()
  t.same(weekly.data.map((point: Point) => [point.dimensions.app, point.start, point.end, point.metrics.messages, point.metrics.cumulativeBill]), [
    [A, '2024-01-01', '2024-01-07', 20, 10], [B, '2024-01-01', '2024-01-07', 40, 20]
  ], 'buckets per app; the running bill is not summed across days')

  const metrics = (await app.inject('/metrics')).body
  t.match(metrics, /gateway_fanout_parts_total\{provider="gupshup",report="dailyUsage",outcome="upstream_rate_limited"\} 1/)
  t.match(metrics, /gateway_fanout_parts_total\{provider="gupshup",report="dailyUsage",outcome="not_found"\} 1/)
  t.match(metrics, /gateway_fanout_parts_total\{provider="gupshup",report="dailyUsage",outcome="miss"\} 5/)
  t.match(metrics, /gateway_fanout_parts_total\{provider="gupshup",report="dailyUsage",outcome="hit"\} \d+/)
})

t.test('strict=true makes any failure the answer; when every app fails, the first failure is the answer', async (t) => {
  const { app, gupshup } = await mockedGateway(t, { env })
  gupshup.intercept({ path: new RegExp(`^/partner/app/${SPENT}/usage\\?`), method: 'GET' }).reply(200, week(SPENT, 1), { headers: JSON_HEADERS })
  t.equal((await app.inject(`/usage/gupshup/apps/${SPENT}?from=2023-01-01&to=2023-01-02`)).statusCode, 200)
  gupshup.intercept({ path: new RegExp(`^/partner/app/${A}/usage\\?`), method: 'GET' }).reply(200, week(A, 10), { headers: JSON_HEADERS })
  gupshup.intercept({ path: new RegExp(`^/partner/app/${GONE}/usage\\?`), method: 'GET' }).reply(404, { status: 'error', message: 'App not found' }, { headers: JSON_HEADERS })

  const strict = await app.inject(`/usage/gupshup/usage?${RANGE}&apps=${A},${SPENT},${GONE}&strict=true`)
  t.equal(strict.statusCode, 429, 'the first failing app’s problem')
  t.equal(strict.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.equal(strict.json().code, 'upstream_rate_limited')
  t.ok(Number(strict.headers['retry-after']) > 0, 'with Retry-After')

  const allFail = await app.inject(`/usage/gupshup/usage?${RANGE}&apps=${GONE},${SPENT}`)
  t.equal(allFail.statusCode, 404, 'every app failed: the first failure (the 404 is remembered, not asked again)')
  t.equal(allFail.json().code, 'not_found')
  const spentFirst = await app.inject(`/usage/gupshup/usage?${RANGE}&apps=${SPENT},${GONE}`)
  t.equal(spentFirst.statusCode, 429)
  t.ok(Number(spentFirst.headers['retry-after']) > 0)

  const partial = await app.inject(`/usage/gupshup/usage?${RANGE}&apps=${A},${SPENT}`)
  t.equal(partial.statusCode, 200, 'without strict, the same failure is a partial answer')
  t.equal(partial.headers['x-incomplete'], '1')
  t.equal(partial.headers['x-cache'], 'MISS', 'HIT only when every part was one: the failed part was not')
  t.equal(partial.json().data.length, 7, 'the complete part, from the cache')
})

t.test('bad input is refused before any upstream call: an app no token serves is a 404 naming it; over 100 apps, a malformed list', async (t) => {
  const { app, mock } = await mockedGateway(t, { env })
  mock.get(GUPSHUP_ORIGIN) // no interceptors: any upstream call would fail the request with a 502
  const unknown = await app.inject(`/usage/gupshup/usage?${RANGE}&apps=${A},not-configured`)
  t.equal(unknown.statusCode, 404)
  t.match(unknown.json(), { code: 'unknown_app', parameter: 'apps', detail: /'not-configured'/ })
  const many = Array.from({ length: 101 }, (_, index) => `app-${index}`).join(',')
  const tooMany = await app.inject(`/usage/gupshup/usage?${RANGE}&apps=${many}`)
  t.equal(tooMany.statusCode, 400)
  t.match(tooMany.json(), { code: 'invalid_parameter', parameter: 'apps', detail: /at most 100/ })
  for (const apps of ['a,,b', 'a;b', ',', 'a/../b']) {
    const res = await app.inject(`/usage/gupshup/usage?${RANGE}&apps=${encodeURIComponent(apps)}`)
    t.equal(res.statusCode, 400, apps)
    t.equal(res.json().parameter, 'apps', apps)
  }
  const missing = await app.inject('/usage/gupshup/usage?apps=x')
  t.equal(missing.statusCode, 400)
  t.equal(missing.json().parameter, 'from')
})

t.test('without apps: every app the gateway serves; CSV names each point’s app; no-cache refreshes each part', async (t) => {
  const { app, sims } = await simulatedGateway(t)
  const res = await app.inject('/usage/gupshup/usage?from=2024-03-01&to=2024-03-31&granularity=week')
  t.equal(res.statusCode, 200)
  const report = res.json()
  const apps = [...new Set((report.data as Point[]).map((point) => point.dimensions.app))]
  t.same(apps.sort(), Object.keys(sims.gupshup.tokens).sort(), 'both demo apps')
  const single = (await app.inject(`/usage/gupshup/apps/${apps[0]}?from=2024-03-01&to=2024-03-31&granularity=week`)).json()
  t.same((report.data as Point[]).filter((point) => point.dimensions.app === apps[0]).map((point) => point.metrics), single.data.map((point: Point) => point.metrics),
    'an app’s points are its own report’s')

  const csv = await app.inject({ url: '/usage/gupshup/usage?from=2024-03-01&to=2024-03-31&granularity=month', headers: { accept: 'text/csv' } })
  t.equal(csv.statusCode, 200)
  t.match(csv.headers['content-type'], /^text\/csv/)
  const lines = csv.body.trim().split('\n')
  t.match(lines[0], /^start,end,app,account,messages,/)
  t.equal(lines.length, 3, 'a header and one row per app')

  const calls = sims.gupshup.calls.length
  t.equal((await app.inject('/usage/gupshup/usage?from=2024-03-01&to=2024-03-31')).headers['x-cache'], 'HIT')
  t.equal(sims.gupshup.calls.length, calls)
  // The days are younger than the refresh floor: a forced refresh answers from them.
  const forced = await app.inject({ url: '/usage/gupshup/usage?from=2024-03-01&to=2024-03-31', headers: { 'cache-control': 'no-cache' } })
  t.equal(forced.statusCode, 200)
  t.equal(sims.gupshup.calls.length, calls, 'within the refresh floor, no-cache costs nothing')

  const catalog = (await app.inject('/usage')).json()
  const fanOut = catalog.providers.find((provider: { name: string }) => provider.name === 'gupshup').reports.find((entry: { route: string }) => entry.route === '/usage/gupshup/usage')
  t.equal(fanOut.subject, 'provider')
  t.same(fanOut.parameters.map((parameter: { name: string }) => parameter.name), ['from', 'to', 'apps', 'granularity', 'strict', 'labels', 'account'])

  // labels=true names each point's app, from the usage rows (no directory call needed).
  const labelled = (await app.inject('/usage/gupshup/usage?from=2024-03-01&to=2024-03-31&granularity=month&labels=true')).json()
  t.same(Object.keys(labelled.labels.app).sort(), apps.sort())
  t.ok(Object.values(labelled.labels.app as Record<string, { name: string | null }>).every((label) => typeof label.name === 'string'), 'each app named')
})

t.test('no-cache on the fan-out refreshes every part past the refresh floor', async (t) => {
  const { app, sims } = await simulatedGateway(t, { env: { CACHE_REFRESH_FLOOR_SECONDS: '0' } })
  t.equal((await app.inject('/usage/gupshup/usage?from=2024-03-01&to=2024-03-31')).statusCode, 200)
  const calls = sims.gupshup.calls.length
  const forced = await app.inject({ url: '/usage/gupshup/usage?from=2024-03-01&to=2024-03-31', headers: { 'cache-control': 'no-cache' } })
  t.equal(forced.statusCode, 200)
  t.equal(forced.headers['x-cache'], 'MISS')
  t.equal(sims.gupshup.calls.length, calls + 2, 'one call per app')
})

t.test('apps billed in different currencies cannot be totalled: a 502 that says so', async (t) => {
  const { app, gupshup } = await mockedGateway(t, { env })
  gupshup.intercept({ path: new RegExp(`^/partner/app/${A}/usage\\?`), method: 'GET' }).reply(200, week(A, 10), { headers: JSON_HEADERS })
  const inr = { status: 'success', partnerAppUsageList: [{ date: '2024-01-02', currency: 'INR', totalMsg: 3, totalFees: 1 }] }
  gupshup.intercept({ path: new RegExp(`^/partner/app/${B}/usage\\?`), method: 'GET' }).reply(200, inr, { headers: JSON_HEADERS })
  const res = await app.inject(`/usage/gupshup/usage?${RANGE}&apps=${A},${B}`)
  t.equal(res.statusCode, 502)
  t.match(res.json(), { code: 'upstream_invalid_response', detail: /several currencies \(USD, INR\)/ })
})

t.test('with partner sign-in, the apps are the partner\'s app directory', async (t) => {
  const { sims } = await simulatedGateway(t)
  const config = loadConfig({ LOG_LEVEL: 'silent', GUPSHUP_BASE_URL: sims.gupshup.baseUrl, GUPSHUP_PARTNER_EMAIL: sims.gupshup.partner.email, GUPSHUP_PARTNER_SECRET: sims.gupshup.partner.secret })
  const { app } = await gateway(t, { config })
  const directory = (await app.inject('/usage/gupshup/apps')).json()
  const listed = (directory.items as Array<{ id: string }>).map((item) => item.id).sort()
  t.same(listed, Object.keys(sims.gupshup.tokens).sort(), 'the partner lists both demo apps')
  const all = await app.inject(`/usage/gupshup/usage?${RANGE}`)
  t.equal(all.statusCode, 200)
  t.same([...new Set((all.json().data as Point[]).map((point) => point.dimensions.app))].sort(), listed, 'the fan-out covers every listed app')
  const again = await app.inject(`/usage/gupshup/usage?${RANGE}`)
  t.equal(again.headers['x-cache'], 'HIT', 'the directory and every part come from the caches')
})

t.test('a hanging upstream: no fetch starts after UPSTREAM_TIMEOUT_MS, every app fails, the first failure (504) is the answer', async (t) => {
  const asked: string[] = []
  // Never answers: each call runs into the gateway's deadline.
  const hanging = await loopbackUpstream(t, (request) => { asked.push(String(request.url).split('?')[0]) })
  const { app } = await gateway(t, { env: { ...env, GUPSHUP_BASE_URL: hanging, UPSTREAM_TIMEOUT_MS: '300' } })
  const res = await app.inject(`/usage/gupshup/usage?${RANGE}&apps=${APPS.join(',')}`)
  t.equal(res.statusCode, 504)
  t.equal(res.json().code, 'upstream_timeout')
  t.equal(asked.length, 4, 'the first four apps were asked; the fifth would have started after the window, and was not')
  t.notOk(asked.includes(`/partner/app/${GONE}/usage`))
})

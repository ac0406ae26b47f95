import t from 'tap'
import { decodeJwt, decodeProtectedHeader } from 'jose'
import { loadConfig } from '../providers/index.js'
import { APPLE_BUILD, GUPSHUP_APP, GUPSHUP_TOKEN, JSON_HEADERS, appleEnv, fixture, gateway, loopbackUpstream, mockedGateway } from './helpers.js'

const BUILD_PATH = `/v1/builds/${APPLE_BUILD}/metrics/betaBuildUsages`
const appleError = (status: number, code: string, detail: string, parameter?: string): unknown => ({
  errors: [{ id: 'e1', status: String(status), code, title: 'An error', detail, ...(parameter === undefined ? {} : { source: { parameter } }) }]
})

t.test('Apple’s documented example normalizes to the documented report', async (t) => {
  const { app, apple } = await mockedGateway(t)
  apple.intercept({ path: BUILD_PATH, method: 'GET' }).reply(200, fixture('apple-build-usages') as object, { headers: JSON_HEADERS })
  const res = await app.inject(`/usage/apple/builds/${APPLE_BUILD}`)
  t.equal(res.statusCode, 200)
  t.same(res.json(), {
    provider: 'apple',
    report: 'betaBuildUsages',
    account: 'default',
    subject: { type: 'build', id: APPLE_BUILD },
    units: { installs: 'count', crashes: 'count', sessions: 'count', invites: 'count', feedback: 'count' },
    data: [{ start: '2022-10-05', end: '2023-10-05', dimensions: {}, metrics: { installs: 2, crashes: 0, sessions: 0, invites: 0, feedback: 0 } }],
    totals: { installs: 2, crashes: 0, sessions: 0, invites: 0, feedback: 0 },
    paging: { total: 1, limit: 50, next: null }
  })
})

t.test('Apple’s grouped tester example: one point per tester, sums, and a next page that keeps the query', async (t) => {
  const { app, apple } = await mockedGateway(t)
  apple.intercept({ path: '/v1/apps/6447306070/metrics/betaTesterUsages?period=P365D&limit=5&groupBy=betaTesters', method: 'GET' })
    .reply(200, fixture('apple-app-tester-usages-grouped') as object, { headers: JSON_HEADERS })
  const res = await app.inject('/usage/apple/apps/6447306070/beta-testers?period=P365D&limit=5')
  t.equal(res.statusCode, 200)
  const report = res.json()
  t.equal(report.data.length, 5)
  t.same(report.data[0], { start: '2022-10-05', end: '2023-10-05', dimensions: { betaTester: '8fa019c6-a92a-4563-ab06-577daa03c5d1' }, metrics: { crashes: 0, sessions: 21, feedback: 1 } })
  t.same(report.totals, { crashes: 10, sessions: 244, feedback: 16 })
  t.same(report.paging, { total: 931, limit: 5, next: '/usage/apple/apps/6447306070/beta-testers?cursor=BQ.TGQPUQ&limit=5&period=P365D' })
})

t.test('a tester filter is sent as filter[betaTesters], without groupBy', async (t) => {
  const { app, apple } = await mockedGateway(t)
  apple.intercept({ path: '/v1/apps/6448250830/metrics/betaTesterUsages?filter%5BbetaTesters%5D=cd082742-b2ec-4e63-b63f-6732f3e7abdd', method: 'GET' })
    .reply(200, fixture('apple-app-tester-usages-filtered') as object, { headers: JSON_HEADERS })
  const res = await app.inject('/usage/apple/apps/6448250830/beta-testers?testerId=cd082742-b2ec-4e63-b63f-6732f3e7abdd')
  t.equal(res.statusCode, 200)
  t.same(res.json().data, [{ start: '2022-10-05', end: '2023-10-05', dimensions: { betaTester: 'cd082742-b2ec-4e63-b63f-6732f3e7abdd' }, metrics: { crashes: 4, sessions: 16, feedback: 0 } }])
})

t.test('a links.next on another origin is never followed', async (t) => {
  const { app, apple } = await mockedGateway(t)
  const body = fixture('apple-app-tester-usages-grouped') as { links: { next: string } }
  body.links.next = 'https://evil.example/v1/apps/6447306070/metrics/betaTesterUsages?cursor=STEAL'
  apple.intercept({ path: /betaTesterUsages/, method: 'GET' }).reply(200, body, { headers: JSON_HEADERS })
  const res = await app.inject('/usage/apple/apps/6447306070/beta-testers')
  t.equal(res.statusCode, 200)
  t.equal(res.json().paging.next, null)
})

t.test('the Apple token is an ES256 JWT Apple accepts, reused across requests', async (t) => {
  const { app, apple } = await mockedGateway(t, { env: { CACHE_REFRESH_FLOOR_SECONDS: '0' } })
  const tokens: string[] = []
  apple.intercept({ path: /betaBuildUsages/, method: 'GET' }).reply(200, (options) => {
    tokens.push(String((options.headers as Record<string, string>).authorization))
    return fixture('apple-build-usages') as object
  }, { headers: JSON_HEADERS }).times(2)
  await app.inject(`/usage/apple/builds/${APPLE_BUILD}`)
  await app.inject({ url: `/usage/apple/builds/${APPLE_BUILD}`, headers: { 'cache-control': 'no-cache' } })
  t.equal(tokens.length, 2)
  t.equal(tokens[0], tokens[1], 'one token for both calls')
  const jwt = tokens[0].replace(/^Bearer /, '')
  t.same(decodeProtectedHeader(jwt), { alg: 'ES256', kid: '2X9R4HXF34', typ: 'JWT' })
  const claims = decodeJwt(jwt)
  t.equal(claims.iss, '57246542-96fe-1a63-e053-0824d011072a')
  t.equal(claims.aud, 'appstoreconnect-v1')
  t.ok((claims.exp as number) - (claims.iat as number) <= 20 * 60, 'lives under 20 minutes')
  t.ok((claims.iat as number) < Date.now() / 1000 - 30, 'iat is backdated against clock skew')
})

t.test('an individual key (no issuer) signs with sub "user"', async (t) => {
  const { app, apple } = await mockedGateway(t, { env: { APPLE_ISSUER_ID: '' } })
  let authorization = ''
  apple.intercept({ path: /betaBuildUsages/, method: 'GET' }).reply(200, (options) => {
    authorization = String((options.headers as Record<string, string>).authorization)
    return fixture('apple-build-usages') as object
  }, { headers: JSON_HEADERS })
  await app.inject(`/usage/apple/builds/${APPLE_BUILD}`)
  const claims = decodeJwt(authorization.replace(/^Bearer /, ''))
  t.equal(claims.sub, 'user')
  t.equal(claims.iss, undefined)
})

t.test('Apple 401 re-mints the token once and retries once', async (t) => {
  const { app, apple } = await mockedGateway(t)
  apple.intercept({ path: BUILD_PATH, method: 'GET' }).reply(401, appleError(401, 'NOT_AUTHORIZED', 'Provide a properly configured and signed bearer token.') as object, { headers: JSON_HEADERS })
  apple.intercept({ path: BUILD_PATH, method: 'GET' }).reply(200, fixture('apple-build-usages') as object, { headers: JSON_HEADERS })
  t.equal((await app.inject(`/usage/apple/builds/${APPLE_BUILD}`)).statusCode, 200)

  const otherBuild = '2f5c4b0e-9d1a-4c3e-8f7b-1a2b3c4d5e6f'
  apple.intercept({ path: `/v1/builds/${otherBuild}/metrics/betaBuildUsages`, method: 'GET' }).reply(401, appleError(401, 'NOT_AUTHORIZED', 'Provide a properly configured and signed bearer token.') as object, { headers: JSON_HEADERS }).times(2)
  const res = await app.inject(`/usage/apple/builds/${otherBuild}`)
  t.equal(res.statusCode, 502)
  t.equal(res.json().code, 'upstream_unauthorized')
})

// Every fault leaves nothing cached as an answer; a 404 is remembered briefly and a 429 holds
// further calls back (both tested in protection.test.ts), so their follow-up differs.
const faults: Array<{ name: string, reply: [number, unknown, Record<string, string>?], status: number, code: string, detail?: RegExp, retryAfter?: string, followUp?: 'remembered' | 'held back' }> = [
  { name: 'Apple 400 passes on Apple’s detail', reply: [400, appleError(400, 'PARAMETER_ERROR.INVALID', "'x' is not a valid value for 'limit'.", 'limit')], status: 400, code: 'upstream_bad_request', detail: /not a valid value for 'limit'/ },
  { name: 'Apple 403 is the gateway’s problem', reply: [403, appleError(403, 'FORBIDDEN_ERROR', 'This request is forbidden for security reasons')], status: 502, code: 'upstream_unauthorized' },
  { name: 'Apple 404', reply: [404, appleError(404, 'NOT_FOUND', "There is no resource of type 'builds'")], status: 404, code: 'not_found', followUp: 'remembered' },
  { name: 'Apple 429 with Retry-After', reply: [429, appleError(429, 'RATE_LIMIT_EXCEEDED', 'slow down'), { 'retry-after': '17' }], status: 429, code: 'upstream_rate_limited', retryAfter: '17', followUp: 'held back' },
  { name: 'Apple 429 without Retry-After', reply: [429, appleError(429, 'RATE_LIMIT_EXCEEDED', 'slow down')], status: 429, code: 'upstream_rate_limited', retryAfter: '10', followUp: 'held back' },
  { name: 'Apple 500', reply: [500, appleError(500, 'UNEXPECTED_ERROR', 'oops')], status: 502, code: 'upstream_error', detail: /apple answered 500/ },
  { name: 'Apple 503 with an HTML page', reply: [503, '<html>down</html>', { 'content-type': 'text/html' }], status: 502, code: 'upstream_error' },
  { name: 'a 200 that is not JSON', reply: [200, '<html>hello</html>', { 'content-type': 'text/html' }], status: 502, code: 'upstream_invalid_response' },
  { name: 'a 200 of the wrong shape', reply: [200, { data: 'nope' }], status: 502, code: 'upstream_invalid_response' },
  { name: 'a 200 with an unreadable date', reply: [200, { data: [{ dataPoints: [{ start: 'yesterday', end: 'today', values: {} }] }], links: { self: 'x' } }], status: 502, code: 'upstream_invalid_response' },
  { name: 'a redirect is not followed', reply: [302, '', { location: 'https://evil.example/' }], status: 502, code: 'upstream_error' }
]

for (const fault of faults) {
  t.test(`${fault.name} → ${fault.status} ${fault.code}, and is not cached`, async (t) => {
    const { app, apple } = await mockedGateway(t)
    const [status, body, headers] = fault.reply
    // A 5xx is tried three times in all.
    apple.intercept({ path: BUILD_PATH, method: 'GET' }).reply(status, body as object, { headers: { ...JSON_HEADERS, ...headers } }).times(status >= 500 ? 3 : 1)
    const res = await app.inject(`/usage/apple/builds/${APPLE_BUILD}`)
    t.equal(res.statusCode, fault.status)
    t.match(res.headers['content-type'], /^application\/problem\+json/)
    const problem = res.json()
    t.equal(problem.code, fault.code)
    t.equal(problem.status, fault.status)
    t.equal(problem.type, `urn:usage-gateway:problem:${fault.code}`)
    t.equal(problem.instance, `/usage/apple/builds/${APPLE_BUILD}`)
    t.type(problem.requestId, 'string')
    if (fault.detail !== undefined) t.match(problem.detail, fault.detail)
    if (fault.retryAfter !== undefined) t.equal(res.headers['retry-after'], fault.retryAfter)
    if (fault.followUp !== undefined) return
    // The error was not cached: the next request asks Apple again.
    apple.intercept({ path: BUILD_PATH, method: 'GET' }).reply(200, fixture('apple-build-usages') as object, { headers: JSON_HEADERS })
    const again = await app.inject(`/usage/apple/builds/${APPLE_BUILD}`)
    t.equal(again.statusCode, 200)
    t.equal(again.headers['x-cache'], 'MISS')
  })
}

t.test('a network error is a 502', async (t) => {
  const { app, apple } = await mockedGateway(t)
  apple.intercept({ path: BUILD_PATH, method: 'GET' }).replyWithError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))
  const res = await app.inject(`/usage/apple/builds/${APPLE_BUILD}`)
  t.equal(res.statusCode, 502)
  t.match(res.json(), { code: 'upstream_error', detail: /could not be reached/ })
})

t.test('a hung upstream is a 504 within UPSTREAM_TIMEOUT_MS', async (t) => {
  const hung = await loopbackUpstream(t, () => { /* never answers */ })
  const config = loadConfig({ LOG_LEVEL: 'silent', UPSTREAM_TIMEOUT_MS: '300', ...await appleEnv(hung) })
  const { app } = await gateway(t, { config })
  const started = Date.now()
  const res = await app.inject(`/usage/apple/builds/${APPLE_BUILD}`)
  const elapsed = Date.now() - started
  t.equal(res.statusCode, 504)
  t.equal(res.json().code, 'upstream_timeout')
  t.ok(elapsed >= 250 && elapsed < 5000, `answered after ${elapsed} ms`)
})

t.test('a path id is encoded into the upstream path and can never change it', async (t) => {
  const { app } = await mockedGateway(t)
  for (const id of ['a%2Fb', 'a%3Fb', 'a%23b', 'a.b', 'a%20b', '%C3%A9', '%2e%2e%2fv1']) {
    const res = await app.inject(`/usage/apple/builds/${id}`)
    t.equal(res.statusCode, 400, id)
    t.equal(res.json().parameter, 'buildId', id)
  }
  // Dot segments are resolved before routing: they name no report at all.
  for (const id of ['..', '%2e%2e']) t.equal((await app.inject(`/usage/apple/builds/${id}`)).statusCode, 404, id)
  const long = await app.inject(`/usage/gupshup/apps/${'a'.repeat(101)}?from=2024-01-01&to=2024-01-02`)
  t.equal(long.statusCode, 400)
  t.equal(long.json().parameter, 'appId')
  // Nothing reached the upstreams: with no interceptor set, a call would have been a 502.
})

t.test('Gupshup’s documented sample normalizes with units, totals that skip caps and running bills', async (t) => {
  const { app, gupshup } = await mockedGateway(t)
  let authorization: unknown
  gupshup.intercept({ path: `/partner/app/${GUPSHUP_APP}/usage?from=2024-01-01&to=2024-01-31`, method: 'GET' })
    .reply(200, (options) => {
      authorization = (options.headers as Record<string, string>).authorization
      return fixture('gupshup-usage') as object
    }, { headers: JSON_HEADERS })
  const res = await app.inject(`/usage/gupshup/apps/${GUPSHUP_APP}?from=2024-01-01&to=2024-01-31`)
  t.equal(res.statusCode, 200)
  t.equal(authorization, GUPSHUP_TOKEN, 'the app token is the Authorization header')
  const report = res.json()
  t.same(report.subject, { type: 'app', id: GUPSHUP_APP })
  t.equal(report.report, 'dailyUsage')
  t.equal(report.units.feesTotal, 'USD')
  t.equal(report.units.gupshupFeeCap, 'USD')
  t.equal(report.units.messages, 'count')
  t.equal(report.data.length, 31, 'every day of the range is a point')
  const busy = report.data.filter((point: { metrics: Record<string, number> }) => point.metrics.cumulativeBill !== undefined)
  t.same(busy.map((point: { start: string, end: string }) => [point.start, point.end]), [['2024-01-10', '2024-01-10'], ['2024-01-18', '2024-01-18']])
  t.same(report.data[1].metrics.messages, 0, 'a day without traffic: counts and fees are 0')
  t.notOk('cumulativeBill' in report.data[1].metrics, 'a day without traffic says no running bill')
  t.same(busy[1].metrics, {
    messages: 91,
    messagesIncoming: 9,
    messagesOutgoing: 82,
    messagesOutgoingMedia: 0,
    templateMessages: 0,
    templateMediaMessages: 0,
    conversationsMarketing: 1,
    conversationsUtility: 0,
    conversationsAuthentication: 0,
    conversationsAuthenticationInternational: 1,
    conversationsService: 0,
    freeEntryPoint: 0,
    freeTier: 1,
    feesTotal: 0.101,
    feesGupshup: 0.091,
    feesWhatsApp: 0.01,
    discount: 0,
    cumulativeBill: 0.234,
    gupshupFeeCap: 75
  })
  t.equal(report.totals.messages, 98)
  t.equal(report.totals.feesTotal, 0.108)
  t.equal(report.totals.feesGupshup, 0.098)
  t.equal(report.totals.conversationsAuthenticationInternational, 2)
  t.notOk('cumulativeBill' in report.totals, 'a running total is not summed')
  t.notOk('gupshupFeeCap' in report.totals, 'a cap is not summed')
  t.same(report.paging, { total: 31, limit: null, next: null })
})

t.test('a numeric field Gupshup adds later passes through; rows outside the range are left out', async (t) => {
  const { app, gupshup } = await mockedGateway(t)
  const rows = [
    { date: '2024-02-01', currency: 'INR', totalMsg: 4, marketingLite: 3, newFeeKind: 0.5, appName: 'x', note: 'text is not a number' },
    { date: '2024-02-02', currency: 'INR', totalMsg: '6', marketingLite: 2, newFeeKind: 0.25 },
    { date: '2024-03-09', currency: 'INR', totalMsg: 1000 }
  ]
  gupshup.intercept({ path: /\/usage\?/, method: 'GET' }).reply(200, { status: 'success', partnerAppUsageList: rows }, { headers: JSON_HEADERS })
  const report = (await app.inject(`/usage/gupshup/apps/${GUPSHUP_APP}?from=2024-02-01&to=2024-02-29`)).json()
  t.same(report.data.map((point: { start: string }) => point.start).slice(0, 3), ['2024-02-01', '2024-02-02', '2024-02-03'])
  t.equal(report.data.length, 29, 'a leap February, and nothing of March')
  t.match(report.data[0].metrics, { messages: 4, marketingLite: 3, newFeeKind: 0.5, feesTotal: 0 }, 'every additive metric is there, 0 when the row says none')
  t.match(report.data[2].metrics, { messages: 0, marketingLite: 0, newFeeKind: 0 }, 'an unknown numeric field sums: 0 on a day without traffic')
  t.equal(report.units.marketingLite, 'count')
  t.equal(report.units.newFeeKind, 'INR')
  t.same(report.totals, { messages: 10, marketingLite: 5, newFeeKind: 0.75 })
})

t.test('Gupshup faults', async (t) => {
  const cases: Array<[number, unknown, number, string]> = [
    [429, { status: 'error', message: 'Too Many Requests' }, 429, 'upstream_rate_limited'],
    [500, { status: 'error', message: 'Internal server error. Please try again later' }, 502, 'upstream_error'],
    [401, { status: 'error', message: 'Authentication Failed' }, 502, 'upstream_unauthorized'],
    [200, { status: 'error', message: 'odd' }, 502, 'upstream_invalid_response'],
    [200, { status: 'success', partnerAppUsageList: [{ date: '10/01/2024' }] }, 502, 'upstream_invalid_response'],
    [200, { status: 'success', partnerAppUsageList: [{ date: '2024-01-02', currency: 'USD' }, { date: '2024-01-03', currency: 'EUR' }] }, 502, 'upstream_invalid_response'],
    [400, { status: 'error', message: 'Invalid date' }, 400, 'upstream_bad_request']
  ]
  for (const [status, body, expected, code] of cases) {
    const { app, gupshup } = await mockedGateway(t)
    gupshup.intercept({ path: /\/usage\?/, method: 'GET' }).reply(status, body as object, { headers: JSON_HEADERS })
    const res = await app.inject(`/usage/gupshup/apps/${GUPSHUP_APP}?from=2024-01-01&to=2024-01-05`)
    t.equal(res.statusCode, expected, `${status} ${JSON.stringify(body)}`)
    t.equal(res.json().code, code)
    t.equal(res.json().provider, 'gupshup')
  }
})

t.test('a Gupshup app without a configured token is 404 unknown_app, without an upstream call', async (t) => {
  const { app } = await mockedGateway(t)
  const res = await app.inject('/usage/gupshup/apps/not-configured?from=2024-01-01&to=2024-01-05')
  t.equal(res.statusCode, 404)
  t.match(res.json(), { code: 'unknown_app', parameter: 'appId', provider: 'gupshup' })
})

t.test('a provider without credentials is 503 provider_not_configured', async (t) => {
  const config = loadConfig({ LOG_LEVEL: 'silent', NODE_ENV: 'production', GATEWAY_AUTH: 'none' })
  const { app } = await gateway(t, { config })
  const apple = await app.inject(`/usage/apple/builds/${APPLE_BUILD}`)
  t.equal(apple.statusCode, 503)
  t.match(apple.json(), { code: 'provider_not_configured', provider: 'apple' })
  const gupshup = await app.inject(`/usage/gupshup/apps/${GUPSHUP_APP}?from=2024-01-01&to=2024-01-05`)
  t.match(gupshup.json(), { code: 'provider_not_configured', provider: 'gupshup' })
})

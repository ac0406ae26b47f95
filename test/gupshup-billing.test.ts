import t from 'tap'
import { loadConfig } from '../providers/index.js'
import { isoDay } from '../src/days.js'
import { GUPSHUP_DEMO_APPS } from '../providers/gupshup/simulator.js'
import { GUPSHUP_APP, JSON_HEADERS, gateway, mockedGateway, simulatedGateway, startSims } from './helpers.js'

const [APP_A, APP_B] = Object.keys(GUPSHUP_DEMO_APPS)

t.test('discount: Gupshup’s documented sample becomes daily points; running bill and cap are not summed', async (t) => {
  const { app, gupshup } = await mockedGateway(t)
  gupshup.intercept({ path: `/partner/app/${GUPSHUP_APP}/discount?year=2022&month=04`, method: 'GET' }).reply(200, {
    dailyAppDiscountList: [
      { appId: GUPSHUP_APP, cumulativeBill: 0, dailyBill: 0, day: 2, discount: 0, gsCap: 75, gsFees: 0, month: 4, partnerId: 15, year: 2022 },
      { appId: GUPSHUP_APP, cumulativeBill: 0.014, dailyBill: 0.014, day: 4, discount: 0, gsCap: 75, gsFees: 0.014, month: 4, partnerId: 15, year: 2022 }
    ]
  }, { headers: JSON_HEADERS })
  const res = await app.inject(`/usage/gupshup/apps/${GUPSHUP_APP}/discount?year=2022&month=04`)
  t.equal(res.statusCode, 200)
  const report = res.json()
  t.equal(report.report, 'dailyDiscount')
  t.equal(report.data.length, 30, 'one point per day of April')
  t.same(report.data.slice(0, 4).map((point: { start: string, end: string }) => [point.start, point.end]),
    [['2022-04-01', '2022-04-01'], ['2022-04-02', '2022-04-02'], ['2022-04-03', '2022-04-03'], ['2022-04-04', '2022-04-04']])
  t.same(report.data[3].metrics, { billDaily: 0.014, discount: 0, feesGupshup: 0.014, cumulativeBill: 0.014, gupshupFeeCap: 75 })
  t.same(report.data[2].metrics, { billDaily: 0, discount: 0, feesGupshup: 0 }, 'a day Gupshup left out: additive metrics 0, no running bill, no cap')
  t.same(report.totals, { billDaily: 0.014, discount: 0, feesGupshup: 0.014 })
  t.equal(report.units.billDaily, 'XXX', 'Gupshup names no currency here: ISO 4217 "no currency"')
  t.match(res.headers['cache-control'], /max-age=8639[89]|max-age=86400/, 'a past month is settled')
})

t.test('discount: the month must be real; the current month stays fresh only minutes', async (t) => {
  const { app, sims } = await simulatedGateway(t)
  for (const [query, parameter, detail] of [['year=2024&month=13', 'month', /must be a month, MM/], ['year=24&month=01', 'year', /must be a year, YYYY/], ['year=2024', 'month', /is required/]] as const) {
    const res = await app.inject(`/usage/gupshup/apps/${APP_A}/discount?${query}`)
    t.equal(res.statusCode, 400, query)
    t.match(res.json(), { parameter, detail })
  }
  const today = isoDay(Date.now())
  const current = await app.inject(`/usage/gupshup/apps/${APP_A}/discount?year=${today.slice(0, 4)}&month=${today.slice(5, 7)}`)
  t.equal(current.statusCode, 200)
  t.match(current.headers['cache-control'], /max-age=(300|29\d)$/)
  t.same(sims.gupshup.otherCalls, [`/partner/app/${APP_A}/discount`])
})

t.test('wallet: one point today, in the wallet’s currency, a balance never summed, briefly cached', async (t) => {
  const { app, gupshup } = await mockedGateway(t)
  gupshup.intercept({ path: `/partner/app/${GUPSHUP_APP}/wallet/balance`, method: 'GET' }).reply(200, { status: 'success', walletResponse: { currency: 'USD', currentBalance: 123.45, overDraftLimit: 0 } }, { headers: JSON_HEADERS })
  const res = await app.inject(`/usage/gupshup/apps/${GUPSHUP_APP}/wallet`)
  t.equal(res.statusCode, 200)
  const report = res.json()
  const today = isoDay(Date.now())
  t.same(report.data, [{ start: today, end: today, dimensions: {}, metrics: { balance: 123.45, overdraftLimit: 0 } }])
  t.same(report.units, { balance: 'USD', overdraftLimit: 'USD' })
  t.same(report.totals, {})
  t.match(res.headers['cache-control'], /^private, max-age=(60|59)$/)
})

t.test('partner sign-in: only an email and a secret; one login and one token fetch per app for many concurrent requests', async (t) => {
  const sims = await startSims(t)
  const config = loadConfig({ LOG_LEVEL: 'silent', GUPSHUP_BASE_URL: sims.gupshup.baseUrl, GUPSHUP_PARTNER_EMAIL: sims.gupshup.partner.email, GUPSHUP_PARTNER_SECRET: sims.gupshup.partner.secret })
  const { app } = await gateway(t, { config })
  const urls = Array.from({ length: 20 }, (_, index) => `/usage/gupshup/apps/${index % 2 === 0 ? APP_A : APP_B}?from=2024-0${1 + (index % 4)}-01&to=2024-0${1 + (index % 4)}-10`)
  const answers = await Promise.all(urls.map(async (url) => await app.inject(url)))
  t.same(answers.map((res) => res.statusCode), urls.map(() => 200))
  const auth = sims.gupshup.otherCalls
  t.equal(auth.filter((path) => path === '/partner/account/login').length, 1, 'one login')
  t.equal(auth.filter((path) => path === `/partner/app/${APP_A}/token/`).length, 1, 'one token fetch for app A')
  t.equal(auth.filter((path) => path === `/partner/app/${APP_B}/token/`).length, 1, 'one token fetch for app B')

  sims.gupshup.rotateToken(APP_A)
  const recovered = await app.inject({ url: `/usage/gupshup/apps/${APP_A}?from=2024-06-01&to=2024-06-02`, headers: { 'cache-control': 'no-cache' } })
  t.equal(recovered.statusCode, 200, 'a revoked app token is fetched again once')
  t.equal(sims.gupshup.otherCalls.filter((path) => path === `/partner/app/${APP_A}/token/`).length, 2)
  t.equal(sims.gupshup.otherCalls.filter((path) => path === '/partner/account/login').length, 1, 'no second login')

  const unknown = await app.inject('/usage/gupshup/apps/not-in-this-account?from=2024-01-01&to=2024-01-02')
  t.equal(unknown.statusCode, 404)
  t.equal(unknown.json().code, 'unknown_app')
})

t.test('partner sign-in with a wrong secret is the operator’s problem (502), and says so without the secret', async (t) => {
  const sims = await startSims(t)
  const config = loadConfig({ LOG_LEVEL: 'silent', GUPSHUP_BASE_URL: sims.gupshup.baseUrl, GUPSHUP_PARTNER_EMAIL: sims.gupshup.partner.email, GUPSHUP_PARTNER_SECRET: 'wrong-secret-XYZZY' })
  const { app, rawLogs } = await gateway(t, { config })
  const res = await app.inject(`/usage/gupshup/apps/${APP_A}/wallet`)
  t.equal(res.statusCode, 502)
  t.match(res.json(), { code: 'upstream_unauthorized', detail: /partner sign-in/ })
  t.notMatch(res.body + rawLogs.join('\n'), /XYZZY/)
})

t.test('configured app tokens take precedence over partner sign-in', async (t) => {
  const sims = await startSims(t)
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    GUPSHUP_BASE_URL: sims.gupshup.baseUrl,
    GUPSHUP_APP_TOKENS: JSON.stringify({ [APP_A]: sims.gupshup.tokens[APP_A] }),
    GUPSHUP_PARTNER_EMAIL: sims.gupshup.partner.email,
    GUPSHUP_PARTNER_SECRET: sims.gupshup.partner.secret
  })
  const { app } = await gateway(t, { config })
  t.equal((await app.inject(`/usage/gupshup/apps/${APP_A}/wallet`)).statusCode, 200)
  t.same(sims.gupshup.otherCalls, [`/partner/app/${APP_A}/wallet/balance`], 'no login')
  t.equal((await app.inject(`/usage/gupshup/apps/${APP_B}/wallet`)).statusCode, 200, 'other apps through partner sign-in')
  t.ok(sims.gupshup.otherCalls.includes('/partner/account/login'))
})

t.test('partner sign-in: a lapsed partner token logs in again once; failed logins stay within Gupshup’s 10 a minute', async (t) => {
  const { app, gupshup } = await mockedGateway(t, { env: { GUPSHUP_APP_TOKENS: '', GUPSHUP_PARTNER_EMAIL: 'ops@example.com', GUPSHUP_PARTNER_SECRET: 'partner-secret-1' } })
  let logins = 0
  gupshup.intercept({ path: '/partner/account/login', method: 'POST' }).reply(200, () => { logins++; return { token: `partner-${logins}` } }, { headers: JSON_HEADERS }).times(2)
  gupshup.intercept({ path: `/partner/app/${APP_A}/token/`, method: 'GET' }).reply(401, { status: 'error', message: 'expired' }, { headers: JSON_HEADERS })
  gupshup.intercept({ path: `/partner/app/${APP_A}/token/`, method: 'GET' }).reply(200, { status: 'success', token: { token: 'sk_app_a' } }, { headers: JSON_HEADERS })
  gupshup.intercept({ path: `/partner/app/${APP_A}/wallet/balance`, method: 'GET', headers: { authorization: 'sk_app_a' } }).reply(200, { status: 'success', walletResponse: { currency: 'USD', currentBalance: 1, overDraftLimit: 0 } }, { headers: JSON_HEADERS })
  t.equal((await app.inject(`/usage/gupshup/apps/${APP_A}/wallet`)).statusCode, 200)
  t.equal(logins, 2)

  gupshup.intercept({ path: `/partner/app/${APP_B}/token/`, method: 'GET' }).reply(500, 'oops').times(3)
  t.equal((await app.inject(`/usage/gupshup/apps/${APP_B}/wallet`)).statusCode, 502, 'a failing token fetch is a 502')

  gupshup.intercept({ path: '/partner/account/login', method: 'POST' }).reply(401, { status: 'error', message: 'Invalid email or password' }, { headers: JSON_HEADERS }).persist()
  gupshup.intercept({ path: /\/token\/$/, method: 'GET' }).reply(401, { status: 'error', message: 'expired' }, { headers: JSON_HEADERS }).persist()
  const answers = []
  for (let i = 0; i < 12; i++) answers.push(await app.inject(`/usage/gupshup/apps/app-${i}/wallet`))
  t.ok(answers.slice(0, 4).every((res) => res.statusCode === 502))
  const last = answers[answers.length - 1]
  t.equal(last.statusCode, 429, 'past 10 logins a minute the gateway stops trying')
  t.match(last.json().detail, /partner login budget/)
  t.ok(Number(last.headers['retry-after']) >= 1, 'and says when to try again')
})

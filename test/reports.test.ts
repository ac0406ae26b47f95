import t from 'tap'
import { loadConfig } from '../providers/index.js'
import { APPLE_DEMO, testersOf } from '../providers/apple/simulator.js'
import { APPLE_APP, APPLE_SMALL_APP, GUPSHUP_APP, JSON_HEADERS, gateway, mockedGateway, simulatedGateway } from './helpers.js'

const [GROUP] = Object.keys(APPLE_DEMO.groups)

t.test('a beta group’s testers: one point per member, filterable, paged', async (t) => {
  const { app, sims } = await simulatedGateway(t)
  const report = (await app.inject(`/usage/apple/beta-groups/${GROUP}/beta-testers?limit=100&period=P30D`)).json()
  t.same(report.subject, { type: 'betaGroup', id: GROUP })
  t.equal(report.paging.total, 240)
  t.equal(report.data.length, 100)
  t.match(report.paging.next, /^\/usage\/apple\/beta-groups\/a1b2c3d4-0000-4000-8000-000000000001\/beta-testers\?cursor=/)
  const member = testersOf(APPLE_APP)[7]
  const one = (await app.inject(`/usage/apple/beta-groups/${GROUP}/beta-testers?testerId=${member}`)).json()
  t.same(one.data.map((point: { dimensions: unknown }) => point.dimensions), [{ betaTester: member }])
  t.same(sims.apple.calls.slice(-1), [`/v1/betaGroups/${GROUP}/metrics/betaTesterUsages`])
  t.equal((await app.inject('/usage/apple/beta-groups/no-such-group/beta-testers')).statusCode, 404)
})

t.test('a public link: counts renamed and summed, ratios kept by name and never summed', async (t) => {
  const { app, apple } = await mockedGateway(t)
  apple.intercept({ path: `/v1/betaGroups/${GROUP}/metrics/publicLinkUsages`, method: 'GET' }).reply(200, {
    data: [{ dataPoints: [{ start: '2024-01-01T00:00:00Z', end: '2024-01-31T00:00:00Z', values: { viewCount: 120, acceptedCount: 30, didNotAcceptCount: 80, didNotMeetCriteriaCount: 10, notRelevantRatio: 0.25, notClearRatio: 0.5, notInterestingRatio: 0.25 } }] }],
    links: { self: 'x' },
    meta: { paging: { total: 1, limit: 50 } }
  }, { headers: JSON_HEADERS })
  const report = (await app.inject(`/usage/apple/beta-groups/${GROUP}/public-link`)).json()
  t.equal(report.report, 'publicLinkUsages')
  t.same(report.data[0].metrics, { views: 120, accepted: 30, didNotAccept: 80, didNotMeetCriteria: 10, notRelevantRatio: 0.25, notClearRatio: 0.5, notInterestingRatio: 0.25 })
  t.equal(report.units.views, 'count')
  t.equal(report.units.notClearRatio, 'ratio')
  t.same(report.totals, { views: 120, accepted: 30, didNotAccept: 80, didNotMeetCriteria: 10 })
  t.same([report.data[0].start, report.data[0].end], ['2024-01-01', '2024-01-31'])
})

t.test('the simulator’s public link: ratios that add up to 1, and are not in the totals', async (t) => {
  const { app } = await simulatedGateway(t)
  const report = (await app.inject(`/usage/apple/beta-groups/${GROUP}/public-link`)).json()
  const { notRelevantRatio, notClearRatio, notInterestingRatio, views, accepted, didNotAccept, didNotMeetCriteria } = report.data[0].metrics
  t.equal(Math.round((notRelevantRatio + notClearRatio + notInterestingRatio) * 100), 100)
  t.equal(accepted + didNotAccept + didNotMeetCriteria, views)
  t.same(Object.keys(report.totals), ['views', 'accepted', 'didNotAccept', 'didNotMeetCriteria'])
  t.equal((await app.inject('/usage/apple/beta-groups/unknown-group/public-link')).statusCode, 404)
})

t.test('one beta tester’s usage of an app: appId is required and sent as filter[apps]; the dimension is the app', async (t) => {
  const { app, sims } = await simulatedGateway(t)
  const missing = await app.inject(`/usage/apple/beta-testers/${APPLE_DEMO.tester}`)
  t.equal(missing.statusCode, 400)
  t.equal(missing.json().parameter, 'appId')
  const report = (await app.inject(`/usage/apple/beta-testers/${APPLE_DEMO.tester}?appId=${APPLE_SMALL_APP}&period=P90D`)).json()
  t.same(report.subject, { type: 'betaTester', id: APPLE_DEMO.tester })
  t.same(report.data.map((point: { dimensions: unknown }) => point.dimensions), [{ app: APPLE_SMALL_APP }])
  t.same(Object.keys(report.units), ['crashes', 'sessions', 'feedback'])
  t.equal((await app.inject(`/usage/apple/beta-testers/not-a-tester?appId=${APPLE_SMALL_APP}`)).statusCode, 404)
  t.equal(sims.apple.calls.length, 2)
})

t.test('all=true follows every page (each cached on its own) into one report', async (t) => {
  const { app, sims } = await simulatedGateway(t)
  const res = await app.inject(`/usage/apple/apps/${APPLE_APP}/beta-testers?all=true&limit=200&period=P7D`)
  t.equal(res.statusCode, 200)
  const report = res.json()
  t.equal(report.data.length, 931)
  t.equal(new Set(report.data.map((point: { dimensions: { betaTester: string } }) => point.dimensions.betaTester)).size, 931)
  t.same(report.paging, { total: 931, limit: 200, next: null })
  const sessions = report.data.reduce((sum: number, point: { metrics: { sessions: number } }) => sum + point.metrics.sessions, 0)
  t.equal(report.totals.sessions, sessions, 'totals over every page')
  t.equal(sims.apple.calls.length, 5)
  const page = await app.inject(`/usage/apple/apps/${APPLE_APP}/beta-testers?limit=200&period=P7D`)
  t.equal(page.headers['x-cache'], 'HIT', 'the first page was cached on its own')
  t.equal((await app.inject(`/usage/apple/apps/${APPLE_APP}/beta-testers?all=true&limit=200&period=P7D`)).headers['x-cache'], 'HIT')
  t.equal(sims.apple.calls.length, 5)
})

t.test('all=true past MAX_PAGES is a 400 after one page, not a spent budget', async (t) => {
  const { app, sims } = await simulatedGateway(t, { env: { MAX_PAGES: '3' } })
  const res = await app.inject(`/usage/apple/apps/${APPLE_APP}/beta-testers?all=true&limit=200`)
  t.equal(res.statusCode, 400)
  t.match(res.json(), { code: 'too_many_pages', parameter: 'all', detail: /5 upstream pages; this gateway follows at most 3/ })
  t.equal(sims.apple.calls.length, 1)
})

t.test('GET /usage lists every report route, its parameters, metrics and TTL', async (t) => {
  const { app } = await simulatedGateway(t)
  const catalog = (await app.inject('/usage')).json()
  const spec = (await app.inject('/openapi.json')).json()
  const routes = catalog.providers.flatMap((provider: { reports: Array<{ route: string }>, directories: Array<{ route: string }> }) =>
    [...provider.reports, ...provider.directories].map((entry) => entry.route))
  t.same(new Set(routes), new Set(Object.keys(spec.paths).filter((path) => path.startsWith('/usage/'))), 'every report and directory route, and only those')
  t.same(catalog.providers.map((provider: { name: string, status: string }) => [provider.name, provider.status]), [['apple', 'simulated'], ['gupshup', 'simulated']])
  const testers = catalog.providers[0].reports.find((report: { route: string }) => report.route === '/usage/apple/apps/{appId}/beta-testers')
  t.match(testers.parameters.find((parameter: { name: string }) => parameter.name === 'period'), { in: 'query', required: false, schema: { enum: ['P7D', 'P30D', 'P90D', 'P365D'] } })
  t.match(testers.parameters.find((parameter: { name: string }) => parameter.name === 'appId'), { in: 'path', required: true })
  t.equal(testers.cacheTtlSeconds, 900)
  const daily = catalog.providers[1].reports[0]
  t.match(daily.metrics.find((m: { name: string }) => m.name === 'gupshupFeeCap'), { upstream: 'gsCap', unit: 'currency', additive: false })
  t.equal(daily.settledCacheTtlSeconds, 86_400)
})

t.test('the catalog says which providers are not configured, and CACHE_TTL_SECONDS', async (t) => {
  const { app } = await gateway(t, { config: loadConfig({ LOG_LEVEL: 'silent', NODE_ENV: 'production', GATEWAY_AUTH: 'none', CACHE_TTL_SECONDS: '30' }) })
  const catalog = (await app.inject('/usage')).json()
  t.same(catalog.providers.map((provider: { status: string }) => provider.status), ['not_configured', 'not_configured'])
  t.equal(catalog.providers[1].reports[0].settledCacheTtlSeconds, 30)
})

t.test('Accept: text/csv answers the points as CSV, a header row and one row per point', async (t) => {
  const { app } = await simulatedGateway(t)
  const url = `/usage/apple/apps/${APPLE_APP}/beta-testers?limit=3&period=P7D`
  const json = await app.inject(url)
  const res = await app.inject({ url, headers: { accept: 'text/csv' } })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/csv/)
  t.equal(res.headers.vary, 'Accept')
  t.not(res.headers.etag, json.headers.etag, 'each representation has its own ETag')
  const lines = res.body.trimEnd().split('\r\n')
  t.equal(lines[0], 'start,end,betaTester,crashes,sessions,feedback')
  t.equal(lines.length, 4)
  const first = json.json().data[0]
  t.equal(lines[1], [first.start, first.end, first.dimensions.betaTester, first.metrics.crashes, first.metrics.sessions, first.metrics.feedback].join(','))
  t.equal((await app.inject({ url, headers: { accept: 'text/csv', 'if-none-match': String(res.headers.etag) } })).statusCode, 304)
  for (const [accept, type] of [['application/json, text/csv;q=0.5', /json/], ['text/csv, application/json;q=0.9', /csv/], ['*/*', /json/], ['text/*', /csv/], ['application/xml', /json/]] as const) {
    t.match((await app.inject({ url, headers: { accept } })).headers['content-type'], type, accept)
  }
})

t.test('CSV quotes what needs quoting and defuses spreadsheet formulas', async (t) => {
  const { app, apple, gupshup } = await mockedGateway(t)
  apple.intercept({ path: /betaTesterUsages/, method: 'GET' }).reply(200, {
    data: [{ dataPoints: [{ start: '2024-01-01', end: '2024-01-02', values: { crashCount: -1 } }], dimensions: { betaTesters: { data: '=HYPERLINK("x","y")' } } }],
    links: { self: 'x' }
  }, { headers: JSON_HEADERS })
  const csv = (await app.inject({ url: `/usage/apple/apps/${APPLE_APP}/beta-testers`, headers: { accept: 'text/csv' } })).body
  t.equal(csv.split('\r\n')[1], '2024-01-01,2024-01-02,"\'=HYPERLINK(""x"",""y"")",-1,,')
  gupshup.intercept({ path: /usage/, method: 'GET' }).reply(200, { status: 'success', partnerAppUsageList: [] }, { headers: JSON_HEADERS })
  const empty = await app.inject({ url: `/usage/gupshup/apps/${GUPSHUP_APP}?from=2020-01-01&to=2020-01-02`, headers: { accept: 'text/csv' } })
  t.equal(empty.body.split('\r\n')[0].split(',').slice(0, 3).join(','), 'start,end,messages', 'a header row even without points')
})

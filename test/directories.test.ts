import t from 'tap'
import { loadConfig } from '../providers/index.js'
import { buildName } from '../providers/apple/resources.js'
import { APPLE_DEMO_NAMES } from '../providers/apple/simulator.js'
import { GUPSHUP_DEMO_APPS } from '../providers/gupshup/simulator.js'
import { internalContext } from '../src/upstream-timing.js'
import {
  APPLE_APP, APPLE_BUILD, APPLE_ORIGIN, APPLE_SMALL_APP, gateway, GUPSHUP_APP, JSON_HEADERS, mockedGateway, simulatedGateway, startSims
} from './helpers.js'

const APPLE_GROUP = 'a1b2c3d4-0000-4000-8000-000000000001'

t.test('the Apple apps directory: every app with its name, bundle id and sku, cached for an hour', async (t) => {
  const { app, sims } = await simulatedGateway(t)
  const res = await app.inject('/usage/apple/apps')
  t.equal(res.statusCode, 200)
  t.equal(res.headers['x-cache'], 'MISS')
  t.match(res.headers['cache-control'], /max-age=(3600|359\d)$/, 'fresh for an hour')
  const directory = res.json()
  t.same(directory, {
    provider: 'apple',
    directory: 'apps',
    subject: null,
    account: 'default',
    items: [
      { type: 'app', id: APPLE_APP, account: 'default', name: 'Acme Chat', attributes: { bundleId: 'com.acme.chat', sku: 'ACMECHAT' } },
      { type: 'app', id: APPLE_SMALL_APP, account: 'default', name: 'Acme Notes', attributes: { bundleId: 'com.acme.notes', sku: 'ACMENOTES' } }
    ],
    paging: { total: 2, limit: null, next: null }
  })
  const again = await app.inject('/usage/apple/apps')
  t.equal(again.headers['x-cache'], 'HIT')
  t.equal(again.headers.etag, res.headers.etag)
  t.equal((await app.inject({ url: '/usage/apple/apps', headers: { 'if-none-match': String(res.headers.etag) } })).statusCode, 304)
  const csv = await app.inject({ url: '/usage/apple/apps', headers: { accept: 'text/csv' } })
  t.equal(csv.body, `id,name,account,bundleId,sku\r\n${APPLE_APP},Acme Chat,default,com.acme.chat,ACMECHAT\r\n${APPLE_SMALL_APP},Acme Notes,default,com.acme.notes,ACMENOTES\r\n`)
  t.same(sims.apple.calls, ['/v1/apps'], 'one upstream call for all of it')
})

t.test('an app’s builds: newest first, named "1.4 (212)", paged with limit and cursor', async (t) => {
  const { app, sims } = await simulatedGateway(t)
  const first = await app.inject(`/usage/apple/apps/${APPLE_APP}/builds?limit=1`)
  t.equal(first.statusCode, 200)
  const page = first.json()
  t.same(page.subject, { type: 'app', id: APPLE_APP })
  t.same(page.items, [{
    type: 'build',
    id: APPLE_BUILD,
    account: 'default',
    name: '1.4 (212)',
    attributes: { version: '212', marketingVersion: '1.4', platform: 'IOS', uploadedDate: APPLE_DEMO_NAMES.builds[APPLE_BUILD].uploadedDate, processingState: 'VALID', expired: false }
  }])
  t.same({ total: page.paging.total, limit: page.paging.limit }, { total: 2, limit: 1 })
  t.match(page.paging.next, /^\/usage\/apple\/apps\/6447306070\/builds\?cursor=[\w-]+&limit=1$/)
  const second = (await app.inject(page.paging.next)).json()
  t.same(second.items.map((item: { name: string }) => item.name), ['1.3 (205)'])
  t.equal(second.paging.next, null)
  const csv = await app.inject({ url: `/usage/apple/apps/${APPLE_APP}/builds?limit=1`, headers: { accept: 'text/csv' } })
  t.equal(csv.body.split('\r\n')[0], 'id,name,account,version,marketingVersion,platform,uploadedDate,processingState,expired')
  t.match(csv.body.split('\r\n')[1], /^ace4f47a-60ae-4ed6-954f-c4e61c7baab0,1\.4 \(212\),default,212,1\.4,IOS,2024-01-10T09:30:00\.000\+00:00,VALID,false$/)

  const calls = sims.apple.calls.length
  const bad = await app.inject(`/usage/apple/apps/${APPLE_APP}/builds?limit=500`)
  t.equal(bad.statusCode, 400)
  t.equal(bad.json().parameter, 'limit')
  t.equal(sims.apple.calls.length, calls, 'no upstream call for a bad parameter')
  t.equal((await app.inject(`/usage/apple/apps/${APPLE_APP}/builds?sort=name`)).json().parameter, 'sort')
})

t.test('a build’s name is the build number alone when Apple sends no pre-release version', async (t) => {
  t.equal(buildName('212', '1.4'), '1.4 (212)')
  t.equal(buildName('212', null), '212')
  t.equal(buildName(null, null), null)
})

t.test('an app’s beta groups: names, internal or not, public links', async (t) => {
  const { app } = await simulatedGateway(t)
  const res = await app.inject(`/usage/apple/apps/${APPLE_APP}/beta-groups`)
  t.equal(res.statusCode, 200)
  t.same(res.json().items, [{
    type: 'betaGroup',
    id: APPLE_GROUP,
    account: 'default',
    name: 'Public beta',
    attributes: { isInternalGroup: false, publicLinkEnabled: true, publicLink: 'https://testflight.apple.com/join/AbCdEf12' }
  }])
  const small = (await app.inject(`/usage/apple/apps/${APPLE_SMALL_APP}/beta-groups`)).json()
  t.same(small.items[0].attributes, { isInternalGroup: true, publicLinkEnabled: false, publicLink: null })
})

t.test('a directory of every page follows Apple’s pages, and refuses an answer of another shape', async (t) => {
  const { app, apple } = await mockedGateway(t)
  const appOf = (id: string): object => ({ type: 'apps', id, attributes: { name: `App ${id}`, bundleId: `com.example.${id}`, sku: id } })
  apple.intercept({ path: '/v1/apps?fields%5Bapps%5D=name%2CbundleId%2Csku&limit=200', method: 'GET' })
    .reply(200, { data: [appOf('1'), appOf('2')], links: { self: `${APPLE_ORIGIN}/v1/apps`, next: `${APPLE_ORIGIN}/v1/apps?cursor=Mg&limit=200` }, meta: { paging: { total: 3, limit: 2 } } }, { headers: JSON_HEADERS })
  apple.intercept({ path: '/v1/apps?fields%5Bapps%5D=name%2CbundleId%2Csku&limit=200&cursor=Mg', method: 'GET' })
    .reply(200, { data: [appOf('3')], links: { self: `${APPLE_ORIGIN}/v1/apps?cursor=Mg` }, meta: { paging: { total: 3, limit: 2 } } }, { headers: JSON_HEADERS })
  const res = await app.inject('/usage/apple/apps')
  t.equal(res.statusCode, 200)
  t.same(res.json().items.map((item: { id: string }) => item.id), ['1', '2', '3'])
  t.same(res.json().paging, { total: 3, limit: null, next: null })

  apple.intercept({ path: /\/v1\/betaGroups\?/, method: 'GET' }).reply(200, { groups: [{ id: 'x' }] }, { headers: JSON_HEADERS })
  const odd = await app.inject(`/usage/apple/apps/${APPLE_APP}/beta-groups`)
  t.equal(odd.statusCode, 502)
  t.match(odd.headers['content-type'], /^application\/problem\+json/)
  t.equal(odd.json().code, 'upstream_invalid_response')
})

t.test('the Gupshup apps directory with partner sign-in: the partner’s apps and names, no phone numbers', async (t) => {
  const sims = await startSims(t)
  const config = loadConfig({ LOG_LEVEL: 'silent', GUPSHUP_BASE_URL: sims.gupshup.baseUrl, GUPSHUP_PARTNER_EMAIL: sims.gupshup.partner.email, GUPSHUP_PARTNER_SECRET: sims.gupshup.partner.secret })
  const { app } = await gateway(t, { config })
  const res = await app.inject('/usage/gupshup/apps')
  t.equal(res.statusCode, 200)
  const directory = res.json()
  t.same(directory.items, Object.entries(GUPSHUP_DEMO_APPS).map(([id, name]) => ({ type: 'app', id, account: 'default', name, attributes: { live: true, stopped: false } })))
  t.notMatch(res.body, /phone|9198/, 'phone numbers are left out')
  t.equal(sims.gupshup.otherCalls.filter((path) => path === '/partner/app/list').length, 1)

  // The names label reports without another call.
  const report = (await app.inject(`/usage/gupshup/apps/${GUPSHUP_APP}/wallet?labels=true`)).json()
  t.same(report.labels, { app: { [GUPSHUP_APP]: { name: GUPSHUP_DEMO_APPS[GUPSHUP_APP] } } })
  t.equal(report.labelsIncomplete, false)
  t.equal(sims.gupshup.otherCalls.filter((path) => path === '/partner/app/list').length, 1)

  const items = await app.usage.directory('gupshup', 'apps', '', {}, internalContext(), 'default')
  t.same(items.map((item) => item.id), Object.keys(GUPSHUP_DEMO_APPS), 'the domain reads the same directory')
})

t.test('the Gupshup app list: a bare array is read, another shape is refused', async (t) => {
  const env = { GUPSHUP_APP_TOKENS: '', GUPSHUP_PARTNER_EMAIL: 'p@example.com', GUPSHUP_PARTNER_SECRET: 's3cret' }
  const { app, gupshup } = await mockedGateway(t, { env })
  gupshup.intercept({ path: '/partner/account/login', method: 'POST' }).reply(200, { token: 'partner-token' }, { headers: JSON_HEADERS }).persist()
  gupshup.intercept({ path: '/partner/app/list?pageSize=100&pageNo=1', method: 'GET' })
    .reply(200, { status: 'success', apps: [{ id: 'a' }], others: [] }, { headers: JSON_HEADERS })
  const odd = await app.inject('/usage/gupshup/apps')
  t.equal(odd.statusCode, 502)
  t.equal(odd.json().code, 'upstream_invalid_response', 'two arrays: which one is the list is not certain')

  gupshup.intercept({ path: '/partner/app/list?pageSize=100&pageNo=1', method: 'GET', headers: { token: 'partner-token' } })
    .reply(200, [{ id: 'app-1', name: 'One', live: false, stopped: true, phone: '919800000001' }], { headers: JSON_HEADERS })
  const res = await app.inject('/usage/gupshup/apps')
  t.equal(res.statusCode, 200)
  t.same(res.json().items, [{ type: 'app', id: 'app-1', account: 'default', name: 'One', attributes: { live: false, stopped: true } }])
})

t.test('without partner sign-in, the Gupshup directory is the configured apps, named once their usage rows said', async (t) => {
  const { app, sims } = await simulatedGateway(t)
  const before = (await app.inject('/usage/gupshup/apps')).json()
  t.same(before.items.map((item: { id: string, name: string | null }) => [item.id, item.name]), Object.keys(GUPSHUP_DEMO_APPS).map((id) => [id, null]))
  const report = (await app.inject(`/usage/gupshup/apps/${GUPSHUP_APP}?from=2024-01-01&to=2024-01-31&labels=true`)).json()
  t.same(report.labels.app, { [GUPSHUP_APP]: { name: GUPSHUP_DEMO_APPS[GUPSHUP_APP] } }, 'the rows’ appName, no extra call')
  t.same(sims.gupshup.otherCalls, [])
})

t.test('labels: 931 testers take 19 lookups of 50, then none within 24 hours; CSV has their columns', async (t) => {
  let now = Date.parse('2024-03-01T12:00:00Z')
  const { app, sims } = await simulatedGateway(t, { now: () => now })
  const url = `/usage/apple/apps/${APPLE_APP}/beta-testers?all=true&limit=200&labels=true`
  const res = await app.inject(url)
  t.equal(res.statusCode, 200)
  const report = res.json()
  t.equal(report.data.length, 931)
  t.equal(Object.keys(report.labels.betaTester).length, 931)
  t.same(report.labels.betaTester['cd082742-b2ec-4e63-b63f-6732f3e7abdd'], { name: 'Ada Lovelace', email: 'ada@example.com' })
  t.ok(Object.values(report.labels.betaTester).some((label) => (label as { name: string | null }).name === null), 'anonymous public-link testers have no name')
  t.same(report.labels.app, { [APPLE_APP]: { name: 'Acme Chat', bundleId: 'com.acme.chat' } })
  t.equal(report.labelsIncomplete, false)
  const lookups = (): number => sims.apple.calls.filter((path) => path === '/v1/betaTesters').length
  t.equal(lookups(), 19)

  now += 23 * 3_600_000
  const later = await app.inject({ url, headers: { 'cache-control': 'no-cache' } })
  t.equal(later.statusCode, 200)
  t.equal(lookups(), 19, 'no lookup within 24 hours, even for a fresh report')
  now += 2 * 3_600_000
  await app.inject({ url, headers: { 'cache-control': 'no-cache' } })
  t.equal(lookups(), 38, 'looked up again after 24 hours')

  const plain = (await app.inject(`/usage/apple/apps/${APPLE_APP}/beta-testers?limit=2`)).json()
  t.equal(plain.labels, undefined, 'no labels unless asked')
  const csv = await app.inject({ url: `/usage/apple/apps/${APPLE_APP}/beta-testers?limit=2&labels=true`, headers: { accept: 'text/csv' } })
  const [header, first] = csv.body.split('\r\n')
  t.equal(header, 'start,end,betaTester,betaTesterName,betaTesterEmail,crashes,sessions,feedback')
  t.match(first, /,cd082742-b2ec-4e63-b63f-6732f3e7abdd,Ada Lovelace,ada@example\.com,/)
  const page = (await app.inject(`/usage/apple/apps/${APPLE_APP}/beta-testers?limit=2&labels=true`)).json()
  t.match(page.paging.next, /labels=true/, 'the next page keeps labels')
})

t.test('labels of every subject: a build, a beta group, a tester and the app dimension', async (t) => {
  const { app } = await simulatedGateway(t)
  const build = (await app.inject(`/usage/apple/builds/${APPLE_BUILD}?labels=true`)).json()
  t.same(build.labels, { build: { [APPLE_BUILD]: { name: '1.4 (212)' } } })
  const group = (await app.inject(`/usage/apple/beta-groups/${APPLE_GROUP}/public-link?labels=true`)).json()
  t.same(group.labels, { betaGroup: { [APPLE_GROUP]: { name: 'Public beta' } } })
  const tester = (await app.inject(`/usage/apple/beta-testers/cd082742-b2ec-4e63-b63f-6732f3e7abdd?appId=${APPLE_SMALL_APP}&labels=true`)).json()
  t.same(tester.labels, {
    betaTester: { 'cd082742-b2ec-4e63-b63f-6732f3e7abdd': { name: 'Ada Lovelace', email: 'ada@example.com' } },
    app: { [APPLE_SMALL_APP]: { name: 'Acme Notes', bundleId: 'com.acme.notes' } }
  })
  const csv = await app.inject({ url: `/usage/apple/beta-testers/cd082742-b2ec-4e63-b63f-6732f3e7abdd?appId=${APPLE_SMALL_APP}&labels=true`, headers: { accept: 'text/csv' } })
  t.equal(csv.body.split('\r\n')[0], 'start,end,app,appName,appBundleId,crashes,sessions,feedback')
})

t.test('a failed lookup leaves the numbers intact, says labelsIncomplete, and no name or email reaches a log line', async (t) => {
  const { app, apple, rawLogs } = await mockedGateway(t)
  const testers = ['8fa019c6-a92a-4563-ab06-577daa03c5d1', '11111111-2222-4333-8444-555555555555']
  const usage = {
    data: testers.map((id, index) => ({
      type: 'appsBetaTesterUsages',
      dataPoints: [{ start: '2024-01-01', end: '2024-01-30', values: { crashCount: index, sessionCount: 10 + index, feedbackCount: 0 } }],
      dimensions: { betaTesters: { data: { type: 'betaTesters', id } } }
    })),
    links: { self: `${APPLE_ORIGIN}/v1/apps/${APPLE_APP}/metrics/betaTesterUsages` },
    meta: { paging: { total: 2, limit: 50 } }
  }
  apple.intercept({ path: /\/metrics\/betaTesterUsages/, method: 'GET' }).reply(200, usage, { headers: JSON_HEADERS }).persist()
  apple.intercept({ path: `/v1/apps/${APPLE_APP}?fields%5Bapps%5D=name,bundleId`, method: 'GET' })
    .reply(200, { data: { type: 'apps', id: APPLE_APP, attributes: { name: 'Acme Chat', bundleId: 'com.acme.chat' } }, links: { self: 'x' } }, { headers: JSON_HEADERS })
  apple.intercept({ path: /\/v1\/betaTesters\?/, method: 'GET' }).reply(503, { errors: [{ status: '503', code: 'UNAVAILABLE', title: 'Grace Hopper grace@example.com' }] }, { headers: JSON_HEADERS }).times(3)
  const res = await app.inject(`/usage/apple/apps/${APPLE_APP}/beta-testers?labels=true`)
  t.equal(res.statusCode, 200, 'a name never fails a report')
  const report = res.json()
  t.same(report.totals, { crashes: 1, sessions: 21, feedback: 0 })
  t.equal(report.labelsIncomplete, true)
  t.equal(report.labels.betaTester, undefined, 'the missing labels are left out')
  t.same(report.labels.app, { [APPLE_APP]: { name: 'Acme Chat', bundleId: 'com.acme.chat' } }, 'the labels that were found stay')

  apple.intercept({ path: /\/v1\/betaTesters\?/, method: 'GET' }).reply(200, {
    data: [{ type: 'betaTesters', id: testers[0], attributes: { firstName: 'Grace', lastName: 'Hopper', email: 'grace@example.com', inviteType: 'EMAIL' } }],
    links: { self: `${APPLE_ORIGIN}/v1/betaTesters` }
  }, { headers: JSON_HEADERS })
  const retried = (await app.inject(`/usage/apple/apps/${APPLE_APP}/beta-testers?labels=true`)).json()
  t.equal(retried.labelsIncomplete, false, 'a tester Apple does not list is not a failure')
  t.same(retried.labels.betaTester, { [testers[0]]: { name: 'Grace Hopper', email: 'grace@example.com' } })
  const metrics = (await app.inject('/metrics')).body
  const logs = rawLogs.join('\n')
  for (const text of ['Grace', 'Hopper', 'grace@example.com']) {
    t.notOk(metrics.includes(text), `no '${text}' in metrics`)
    t.notOk(logs.includes(text), `no '${text}' in a log line`)
  }
})

t.test('no tester name or email in any log line, even at debug level', async (t) => {
  const { app, rawLogs } = await simulatedGateway(t, { env: { LOG_LEVEL: 'debug' } })
  const res = await app.inject(`/usage/apple/apps/${APPLE_APP}/beta-testers?limit=200&labels=true`)
  const labels = Object.values(res.json().labels.betaTester as Record<string, { name: string | null, email: string | null }>)
  t.ok(labels.length === 200)
  const log = rawLogs.join('\n')
  for (const { name, email } of labels) {
    if (name !== null) t.notOk(log.includes(name), 'no name in the logs')
    if (email !== null) t.notOk(log.includes(email), 'no email in the logs')
  }
})

t.test('the catalog and the spec show the directories and labels', async (t) => {
  const { app } = await simulatedGateway(t)
  const catalog = (await app.inject('/usage')).json()
  const apple = catalog.providers.find((provider: { name: string }) => provider.name === 'apple')
  t.same(apple.directories.map((entry: { route: string }) => entry.route), ['/usage/apple/apps', '/usage/apple/apps/{appId}/builds', '/usage/apple/apps/{appId}/beta-groups'])
  t.equal(apple.directories[0].cacheTtlSeconds, 3600)
  t.ok(apple.reports.every((report: { parameters: Array<{ name: string }> }) => report.parameters.some((parameter) => parameter.name === 'labels')))
  const gupshup = catalog.providers.find((provider: { name: string }) => provider.name === 'gupshup')
  t.same(gupshup.directories.map((entry: { route: string }) => entry.route), ['/usage/gupshup/apps'])
  const spec = (await app.inject('/openapi.json')).json()
  t.ok(spec.components.schemas.Directory, 'a Directory schema')
  t.ok(spec.components.schemas.UsageReport.properties.labels)
  t.equal(spec.paths['/usage/apple/apps'].get.responses['200'].content['application/json'].schema.$ref, '#/components/schemas/Directory')
})

t.test('directory errors: a provider without credentials, too many pages, an unknown directory', async (t) => {
  const bare = await gateway(t, { env: { LOG_LEVEL: 'silent' } })
  const unconfigured = await bare.app.inject('/usage/apple/apps')
  t.equal(unconfigured.statusCode, 503)
  t.equal(unconfigured.json().code, 'provider_not_configured')

  const { app, apple } = await mockedGateway(t, { env: { MAX_PAGES: '1' } })
  apple.intercept({ path: /^\/v1\/apps\?/, method: 'GET' })
    .reply(200, { data: [], links: { self: `${APPLE_ORIGIN}/v1/apps`, next: `${APPLE_ORIGIN}/v1/apps?cursor=Mg` }, meta: { paging: { total: 400, limit: 200 } } }, { headers: JSON_HEADERS })
  const many = await app.inject('/usage/apple/apps')
  t.equal(many.statusCode, 400)
  t.equal(many.json().code, 'too_many_pages')
  await t.rejects(app.usage.directory('apple', 'testers', '', {}, internalContext(), 'default'), /no directory 'testers'/)
})

t.test('the domain’s directory() follows every page of a paged directory', async (t) => {
  const { app, sims } = await simulatedGateway(t)
  const builds = await app.usage.directory('apple', 'builds', APPLE_APP, { limit: 1 }, internalContext(), 'default')
  t.same(builds.map((build) => build.name), ['1.4 (212)', '1.3 (205)'])
  t.equal(sims.apple.calls.filter((path) => path === '/v1/builds').length, 2, 'one call per page')
})

t.test('a Gupshup app list that fails: the directory is the upstream’s refusal, and a report’s name is left out', async (t) => {
  const env = { GUPSHUP_APP_TOKENS: '', GUPSHUP_PARTNER_EMAIL: 'p@example.com', GUPSHUP_PARTNER_SECRET: 's3cret' }
  const { app, gupshup } = await mockedGateway(t, { env })
  gupshup.intercept({ path: '/partner/account/login', method: 'POST' }).reply(200, { token: 'partner-token' }, { headers: JSON_HEADERS }).persist()
  gupshup.intercept({ path: `/partner/app/${GUPSHUP_APP}/token/`, method: 'GET' }).reply(200, { status: 'success', token: { token: 'app-token' } }, { headers: JSON_HEADERS })
  gupshup.intercept({ path: `/partner/app/${GUPSHUP_APP}/wallet/balance`, method: 'GET' })
    .reply(200, { status: 'success', walletResponse: { currency: 'USD', currentBalance: 12.5, overDraftLimit: 0 } }, { headers: JSON_HEADERS })
  gupshup.intercept({ path: /^\/partner\/app\/list/, method: 'GET' }).reply(400, { status: 'error', message: 'Bad page' }, { headers: JSON_HEADERS }).times(4)
  const report = await app.inject(`/usage/gupshup/apps/${GUPSHUP_APP}/wallet?labels=true`)
  t.equal(report.statusCode, 200)
  t.same(report.json().totals, {}, 'levels are not summed')
  t.equal(report.json().data[0].metrics.balance, 12.5)
  t.same(report.json().labels, {})
  t.equal(report.json().labelsIncomplete, true)
  const directory = await app.inject('/usage/gupshup/apps')
  t.equal(directory.statusCode, 400, 'as the upstream said, like any upstream refusal')
  t.equal(directory.json().code, 'upstream_bad_request')
})

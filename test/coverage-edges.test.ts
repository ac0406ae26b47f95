/**
 * Edges of what Apple and Gupshup may send (missing names, anonymous testers,
 * partner sign-in refused or revoked) and what a caller then sees.
 */
import t from 'tap'
import { APPLE_APP, APPLE_ORIGIN, GUPSHUP_APP, JSON_HEADERS, mockedGateway } from './helpers.js'

t.test('Apple builds with parts missing: named from what Apple sends, unknown CSV cells left empty', async (t) => {
  const { app, apple } = await mockedGateway(t)
  apple.intercept({ path: /^\/v1\/builds\?/, method: 'GET' }).reply(200, {
    data: [
      { type: 'builds', id: 'b-number-only', attributes: { version: '7', expired: true } },
      { type: 'builds', id: 'b-version-only', attributes: {}, relationships: { preReleaseVersion: { data: { type: 'preReleaseVersions', id: 'p1' } } } },
      { type: 'builds', id: 'b-nothing', relationships: { preReleaseVersion: { data: null } } },
      { type: 'builds', id: 'b-unlisted-version', attributes: { version: '9' }, relationships: { preReleaseVersion: { data: { type: 'preReleaseVersions', id: 'p-absent' } } } }
    ],
    included: [{ type: 'preReleaseVersions', id: 'p1', attributes: { version: '2.0', platform: 'IOS' } }],
    links: { self: `${APPLE_ORIGIN}/v1/builds` },
    meta: { paging: { total: 4, limit: 50 } }
  }, { headers: JSON_HEADERS }).persist()
  const res = await app.inject(`/usage/apple/apps/${APPLE_APP}/builds`)
  t.equal(res.statusCode, 200)
  const items = res.json().items as Array<{ id: string, name: string | null, attributes: Record<string, unknown> }>
  t.same(items.map((item) => [item.id, item.name]), [
    ['b-number-only', '7'],
    ['b-version-only', '2.0'],
    ['b-nothing', null],
    ['b-unlisted-version', '9']
  ], 'the build number alone, the version alone, or no name')
  t.same(items[0].attributes, { version: '7', marketingVersion: null, platform: null, uploadedDate: null, processingState: null, expired: true })
  t.equal(items[1].attributes.platform, 'IOS')

  const csv = await app.inject({ url: `/usage/apple/apps/${APPLE_APP}/builds`, headers: { accept: 'text/csv' } })
  t.equal(csv.statusCode, 200)
  t.same(csv.body.split('\r\n'), [
    'id,name,account,version,marketingVersion,platform,uploadedDate,processingState,expired',
    'b-number-only,7,default,7,,,,,true',
    'b-version-only,2.0,default,,2.0,IOS,,,',
    'b-nothing,,default,,,,,,',
    'b-unlisted-version,9,default,9,,,,,',
    ''
  ], 'null is an empty cell; a boolean is true or false')
})

t.test('Apple apps and groups without attributes: null names, not an error', async (t) => {
  const { app, apple } = await mockedGateway(t)
  apple.intercept({ path: /^\/v1\/apps\?/, method: 'GET' }).reply(200, {
    data: [{ type: 'apps', id: '1' }, { type: 'apps', id: '2', attributes: { name: 42, bundleId: 'com.example.two' } }],
    links: { self: `${APPLE_ORIGIN}/v1/apps` },
    meta: { paging: { total: 2, limit: 200 } }
  }, { headers: JSON_HEADERS })
  const apps = await app.inject('/usage/apple/apps')
  t.equal(apps.statusCode, 200)
  t.same(apps.json().items, [
    { type: 'app', id: '1', account: 'default', name: null, attributes: { bundleId: null, sku: null } },
    { type: 'app', id: '2', account: 'default', name: null, attributes: { bundleId: 'com.example.two', sku: null } }
  ], 'a name that is not text is no name')

  apple.intercept({ path: /^\/v1\/betaGroups\?/, method: 'GET' }).reply(200, {
    data: [{ type: 'betaGroups', id: 'g1' }, { type: 'betaGroups', id: 'g2', attributes: { name: 'Friends', isInternalGroup: 'no', publicLinkEnabled: false } }],
    links: { self: `${APPLE_ORIGIN}/v1/betaGroups` },
    meta: { paging: { total: 2, limit: 50 } }
  }, { headers: JSON_HEADERS })
  const groups = await app.inject({ url: `/usage/apple/apps/${APPLE_APP}/beta-groups`, headers: { accept: 'text/csv' } })
  t.equal(groups.statusCode, 200)
  t.same(groups.body.split('\r\n'), [
    'id,name,account,isInternalGroup,publicLinkEnabled,publicLink',
    'g1,,default,,,',
    'g2,Friends,default,,false,',
    ''
  ])
})

t.test('tester labels: an anonymous public-link tester has no name, a tester with one name part keeps it', async (t) => {
  const { app, apple } = await mockedGateway(t)
  const testers = ['t-public', 't-first', 't-nameless', 't-public-email', 't-bare']
  apple.intercept({ path: /\/metrics\/betaTesterUsages/, method: 'GET' }).reply(200, {
    data: testers.map((id) => ({
      type: 'appsBetaTesterUsages',
      dataPoints: [{ start: '2024-01-01', end: '2024-01-30', values: { crashCount: 0, sessionCount: 1, feedbackCount: 0 } }],
      dimensions: { betaTesters: { data: { type: 'betaTesters', id } } }
    })),
    links: { self: `${APPLE_ORIGIN}/v1/apps/${APPLE_APP}/metrics/betaTesterUsages` },
    meta: { paging: { total: testers.length, limit: 50 } }
  }, { headers: JSON_HEADERS })
  apple.intercept({ path: /^\/v1\/apps\/6447306070\?/, method: 'GET' })
    .reply(200, { data: { type: 'apps', id: APPLE_APP }, links: { self: 'x' } }, { headers: JSON_HEADERS })
  apple.intercept({ path: /^\/v1\/betaTesters\?/, method: 'GET' }).reply(200, {
    data: [
      { type: 'betaTesters', id: 't-public', attributes: { inviteType: 'PUBLIC_LINK', firstName: 'Anonymous' } },
      { type: 'betaTesters', id: 't-first', attributes: { firstName: 'Ada', lastName: '', email: 'ada@example.com', inviteType: 'EMAIL' } },
      { type: 'betaTesters', id: 't-nameless', attributes: { inviteType: 'EMAIL' } },
      { type: 'betaTesters', id: 't-public-email', attributes: { inviteType: 'PUBLIC_LINK', lastName: 'Lovelace', email: 'al@example.com' } },
      { type: 'betaTesters', id: 't-bare' }
    ],
    links: { self: `${APPLE_ORIGIN}/v1/betaTesters` }
  }, { headers: JSON_HEADERS })
  const res = await app.inject(`/usage/apple/apps/${APPLE_APP}/beta-testers?labels=true`)
  t.equal(res.statusCode, 200)
  const report = res.json()
  t.equal(report.labelsIncomplete, false)
  t.same(report.labels.betaTester, {
    't-public': { name: null, email: null },
    't-first': { name: 'Ada', email: 'ada@example.com' },
    't-nameless': { name: null, email: null },
    't-public-email': { name: 'Lovelace', email: 'al@example.com' },
    't-bare': { name: null, email: null }
  })
  t.same(report.labels.app, { [APPLE_APP]: { name: null, bundleId: null } }, 'an app Apple sends without attributes')
})

const PARTNER_ENV = { GUPSHUP_APP_TOKENS: '', GUPSHUP_PARTNER_EMAIL: 'p@example.com', GUPSHUP_PARTNER_SECRET: 's3cret' }

t.test('Gupshup partner token refused mid-life: the gateway signs in once more and the list answers', async (t) => {
  const { app, gupshup } = await mockedGateway(t, { env: PARTNER_ENV })
  gupshup.intercept({ path: '/partner/account/login', method: 'POST' }).reply(200, { token: 'partner-old' }, { headers: JSON_HEADERS })
  gupshup.intercept({ path: '/partner/account/login', method: 'POST' }).reply(200, { token: 'partner-new' }, { headers: JSON_HEADERS })
  gupshup.intercept({ path: '/partner/app/list?pageSize=100&pageNo=1', method: 'GET', headers: { token: 'partner-old' } })
    .reply(401, { status: 'error', message: 'Unauthorised' }, { headers: JSON_HEADERS })
  gupshup.intercept({ path: '/partner/app/list?pageSize=100&pageNo=1', method: 'GET', headers: { token: 'partner-new' } })
    .reply(200, { status: 'success', partnerAppsList: [{ id: 'app-1', name: 'One', live: true, stopped: false }, { id: 'app-2' }] }, { headers: JSON_HEADERS })
  const res = await app.inject('/usage/gupshup/apps')
  t.equal(res.statusCode, 200)
  t.same(res.json().items, [
    { type: 'app', id: 'app-1', account: 'default', name: 'One', attributes: { live: true, stopped: false } },
    { type: 'app', id: 'app-2', account: 'default', name: null, attributes: { live: null, stopped: null } }
  ], 'an app listed without a name or state: null where Gupshup does not say')
})

t.test('Gupshup partner list refused twice: a 502 naming the partner token, no secret in it', async (t) => {
  const { app, gupshup, rawLogs } = await mockedGateway(t, { env: PARTNER_ENV })
  gupshup.intercept({ path: '/partner/account/login', method: 'POST' }).reply(200, { token: 'partner-token-secret' }, { headers: JSON_HEADERS }).persist()
  gupshup.intercept({ path: '/partner/app/list?pageSize=100&pageNo=1', method: 'GET' })
    .reply(401, { status: 'error', message: 'Unauthorised' }, { headers: JSON_HEADERS }).times(2)
  const res = await app.inject('/usage/gupshup/apps')
  t.equal(res.statusCode, 502)
  t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.equal(res.json().code, 'upstream_unauthorized')
  t.match(res.json().detail, /partner token/)
  t.notOk(res.body.includes('partner-token-secret'), 'the token is not in the answer')
  t.notOk(rawLogs.join('\n').includes('partner-token-secret'), 'nor in a log line')
})

t.test('Gupshup app names with partner sign-in: looked up in the partner list; a failed list says labelsIncomplete', async (t) => {
  const { app, gupshup } = await mockedGateway(t, { env: { ...PARTNER_ENV } })
  gupshup.intercept({ path: '/partner/account/login', method: 'POST' }).reply(200, { token: 'partner-token' }, { headers: JSON_HEADERS }).persist()
  gupshup.intercept({ path: `/partner/app/${GUPSHUP_APP}/token/`, method: 'GET' })
    .reply(200, { status: 'success', token: { token: 'app-token' } }, { headers: JSON_HEADERS })
  gupshup.intercept({ path: (path: string) => path.startsWith(`/partner/app/${GUPSHUP_APP}/usage`), method: 'GET' })
    .reply(200, { status: 'success', partnerAppUsageList: [] }, { headers: JSON_HEADERS }).persist()
  gupshup.intercept({ path: '/partner/app/list?pageSize=100&pageNo=1', method: 'GET' })
    .reply(503, { status: 'error', message: 'down' }, { headers: JSON_HEADERS }).times(3)
  const failed = await app.inject(`/usage/gupshup/apps/${GUPSHUP_APP}?from=2024-01-01&to=2024-01-02&labels=true`)
  t.equal(failed.statusCode, 200, 'a name never fails a report')
  t.equal(failed.json().labelsIncomplete, true)

  gupshup.intercept({ path: '/partner/app/list?pageSize=100&pageNo=1', method: 'GET' })
    .reply(200, { status: 'success', partnerAppsList: [{ id: GUPSHUP_APP, name: 'Acme WhatsApp', live: true, stopped: false }] }, { headers: JSON_HEADERS })
  const named = await app.inject(`/usage/gupshup/apps/${GUPSHUP_APP}?from=2024-01-03&to=2024-01-04&labels=true`)
  t.equal(named.statusCode, 200)
  t.equal(named.json().labelsIncomplete, false)
  t.same(named.json().labels.app, { [GUPSHUP_APP]: { name: 'Acme WhatsApp' } })
})

t.test('Gupshup partner sign-in failing: a 502 problem each time, never the secret; signed in again on the next request', async (t) => {
  const { app, gupshup, rawLogs } = await mockedGateway(t, { env: PARTNER_ENV })
  gupshup.intercept({ path: '/partner/account/login', method: 'POST' }).reply(500, { status: 'error', message: 'internal' }, { headers: JSON_HEADERS })
  const down = await app.inject('/usage/gupshup/apps')
  t.equal(down.statusCode, 502)
  t.equal(down.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.equal(down.json().provider, 'gupshup')

  gupshup.intercept({ path: '/partner/account/login', method: 'POST' }).reply(200, { status: 'success' }, { headers: JSON_HEADERS })
  const odd = await app.inject('/usage/gupshup/apps')
  t.equal(odd.statusCode, 502)
  t.equal(odd.json().code, 'upstream_invalid_response', 'a login answer without a token')

  gupshup.intercept({ path: '/partner/account/login', method: 'POST' }).reply(200, { token: 'partner-token' }, { headers: JSON_HEADERS })
  gupshup.intercept({ path: '/partner/app/list?pageSize=100&pageNo=1', method: 'GET' })
    .reply(200, { status: 'success', partnerAppsList: [{ id: 'app-1', name: 'One', live: true, stopped: false }] }, { headers: JSON_HEADERS })
  t.equal((await app.inject('/usage/gupshup/apps')).statusCode, 200, 'a failed sign-in is not kept')
  t.notOk([down.body, odd.body, ...rawLogs].join('\n').includes('s3cret'), 'the partner secret is in no answer or log line')
})

t.test('Gupshup app tokens with partner sign-in: a token answer without a token is a 502; an app the partner lacks is a 404, remembered', async (t) => {
  const { app, gupshup } = await mockedGateway(t, { env: PARTNER_ENV })
  const OTHER_APP = '0f6e2b6c-9d4b-4a7e-8c55-3a3f0f3c2b11'
  gupshup.intercept({ path: '/partner/account/login', method: 'POST' }).reply(200, { token: 'partner-token' }, { headers: JSON_HEADERS }).persist()
  gupshup.intercept({ path: `/partner/app/${GUPSHUP_APP}/token/`, method: 'GET' }).reply(200, { status: 'success', token: {} }, { headers: JSON_HEADERS })
  const odd = await app.inject(`/usage/gupshup/apps/${GUPSHUP_APP}?from=2024-01-01&to=2024-01-02`)
  t.equal(odd.statusCode, 502)
  t.equal(odd.json().code, 'upstream_invalid_response')

  gupshup.intercept({ path: `/partner/app/${OTHER_APP}/token/`, method: 'GET' }).reply(404, { status: 'error', message: 'app not found' }, { headers: JSON_HEADERS })
  const unknown = await app.inject(`/usage/gupshup/apps/${OTHER_APP}?from=2024-01-01&to=2024-01-02`)
  t.equal(unknown.statusCode, 404)
  t.equal(unknown.json().code, 'unknown_app')
  t.equal(unknown.json().parameter, 'appId')
  // No interceptor is left for this app: a second token fetch would fail as a 5xx, not answer 404.
  const again = await app.inject(`/usage/gupshup/apps/${OTHER_APP}?from=2024-02-01&to=2024-02-02`)
  t.equal(again.statusCode, 404, 'remembered as unknown, without asking Gupshup again')
  t.equal(again.json().code, 'unknown_app')
})

t.test('Gupshup partner list of more than a page: a name on the second page is found, and the directory holds both pages', async (t) => {
  const { app, gupshup } = await mockedGateway(t, { env: PARTNER_ENV })
  gupshup.intercept({ path: '/partner/account/login', method: 'POST' }).reply(200, { token: 'partner-token' }, { headers: JSON_HEADERS }).persist()
  gupshup.intercept({ path: `/partner/app/${GUPSHUP_APP}/token/`, method: 'GET' })
    .reply(200, { status: 'success', token: { token: 'app-token' } }, { headers: JSON_HEADERS })
  gupshup.intercept({ path: (path: string) => path.startsWith(`/partner/app/${GUPSHUP_APP}/usage`), method: 'GET' })
    .reply(200, { status: 'success', partnerAppUsageList: [] }, { headers: JSON_HEADERS }).persist()
  const firstPage = Array.from({ length: 100 }, (_, index) => ({ id: `app-${index}`, name: `App ${index}`, live: true, stopped: false }))
  gupshup.intercept({ path: '/partner/app/list?pageSize=100&pageNo=1', method: 'GET' })
    .reply(200, { status: 'success', partnerAppsList: firstPage }, { headers: JSON_HEADERS }).times(2)
  gupshup.intercept({ path: '/partner/app/list?pageSize=100&pageNo=2', method: 'GET' })
    .reply(200, { status: 'success', partnerAppsList: [{ id: GUPSHUP_APP, name: 'Acme WhatsApp', live: true, stopped: false }] }, { headers: JSON_HEADERS }).times(2)

  const report = await app.inject(`/usage/gupshup/apps/${GUPSHUP_APP}?from=2024-01-01&to=2024-01-02&labels=true`)
  t.equal(report.statusCode, 200)
  t.equal(report.json().labelsIncomplete, false)
  t.same(report.json().labels.app, { [GUPSHUP_APP]: { name: 'Acme WhatsApp' } })

  // The directory reads every page of the list: a full page means there may be another.
  const directory = await app.inject('/usage/gupshup/apps')
  t.equal(directory.statusCode, 200)
  t.equal(directory.json().items.length, 101)
  t.same(directory.json().items.at(-1), { type: 'app', id: GUPSHUP_APP, account: 'default', name: 'Acme WhatsApp', attributes: { live: true, stopped: false } })
})

import { readFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'
import t from 'tap'
import { Ajv } from 'ajv'
import addFormatsModule from 'ajv-formats'
import { request } from 'undici'
import { startAppleTeams } from '../providers/apple/index.js'
import { AppleTokenSigner } from '../providers/apple/token.js'
import { testersOf } from '../providers/apple/simulator.js'
import { usageRows } from '../providers/gupshup/simulator.js'
import { APPLE_APP, APPLE_BUILD, APPLE_SMALL_APP, GUPSHUP_APP, startSims } from './helpers.js'

const APPLE_GROUP = 'a1b2c3d4-0000-4000-8000-000000000001'
const APPLE_GROUP_B = 'a1b2c3d4-0000-4000-8000-000000000002'
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv
// Apple's own document (see fixtures/apple/README.md), kept in the repository so this check runs in any clone.
const SPEC = new URL('fixtures/apple/app-store-connect-api.json.gz', import.meta.url)

async function appleGet (sims: Awaited<ReturnType<typeof startSims>>, path: string, token?: string): Promise<{ status: number, headers: Record<string, unknown>, body: any }> {
  const auth = token ?? await sims.apple.token()
  const res = await request(`${sims.apple.baseUrl}${path}`, { headers: { authorization: `Bearer ${auth}` } })
  return { status: res.statusCode, headers: res.headers, body: await res.body.json() }
}

t.test('the Apple simulator answers what Apple’s OpenAPI schema (v4.4.1) says', async (t) => {
  const ajv = new Ajv({ strict: false, allErrors: true })
  addFormats(ajv)
  const spec = JSON.parse(gunzipSync(readFileSync(SPEC)).toString('utf8'))
  // Apple's document has one `"format": null` (AppEvent.deepLink, reachable from AppsResponse's `included`), which Ajv refuses to compile.
  delete spec.components.schemas.AppEvent.properties.attributes.properties.deepLink.format
  ajv.addSchema(spec, 'asc')
  const sims = await startSims(t, { style: 'schema' })
  const cases: Array<[string, string]> = [
    [`/v1/builds/${APPLE_BUILD}/metrics/betaBuildUsages`, 'BetaBuildUsagesV1MetricResponse'],
    [`/v1/apps/${APPLE_APP}/metrics/betaTesterUsages?groupBy=betaTesters&limit=3&period=P30D`, 'AppsBetaTesterUsagesV1MetricResponse'],
    ['/v1/builds/missing/metrics/betaBuildUsages', 'ErrorResponse'],
    [`/v1/apps/${APPLE_APP}/metrics/betaTesterUsages?groupBy=betaTesters&limit=500`, 'ErrorResponse'],
    [`/v1/apps/${APPLE_APP}/metrics/betaTesterUsages`, 'ErrorResponse'],
    // The directories' and labels' endpoints.
    ['/v1/apps?fields[apps]=name,bundleId,sku&limit=1', 'AppsResponse'],
    [`/v1/apps/${APPLE_APP}?fields[apps]=name,bundleId`, 'AppResponse'],
    [`/v1/builds?filter[app]=${APPLE_APP}&sort=-uploadedDate&include=preReleaseVersion&fields[builds]=version,uploadedDate,processingState,expired,preReleaseVersion&fields[preReleaseVersions]=version,platform&limit=1`, 'BuildsResponse'],
    [`/v1/builds/${APPLE_BUILD}?include=preReleaseVersion&fields[builds]=version&fields[preReleaseVersions]=version`, 'BuildResponse'],
    [`/v1/betaGroups?filter[app]=${APPLE_APP}&fields[betaGroups]=name,isInternalGroup,publicLinkEnabled,publicLink&limit=200`, 'BetaGroupsResponse'],
    [`/v1/betaGroups/${APPLE_GROUP}?fields[betaGroups]=name`, 'BetaGroupResponse'],
    [`/v1/betaTesters?filter[id]=${testersOf(APPLE_APP).slice(0, 50).join(',')}&fields[betaTesters]=firstName,lastName,email,inviteType&limit=50`, 'BetaTestersResponse'],
    ['/v1/builds?limit=1', 'ErrorResponse'],
    ['/v1/apps/0', 'ErrorResponse'],
    // Which app a build or group belongs to (the owner search's parentOf).
    [`/v1/builds/${APPLE_BUILD}/relationships/app`, 'BuildAppLinkageResponse'],
    [`/v1/betaGroups/${APPLE_GROUP}/relationships/app`, 'BetaGroupAppLinkageResponse'],
    ['/v1/builds/missing/relationships/app', 'ErrorResponse'],
    ['/v1/betaGroups/missing/relationships/app', 'ErrorResponse']
  ]
  for (const [path, schema] of cases) {
    const validate = ajv.getSchema(`asc#/components/schemas/${schema}`)
    if (validate === undefined) throw new Error(`no schema ${schema}`)
    const { status, body } = await appleGet(sims, path)
    t.ok(validate(body), `${path.slice(0, 120)} is a ${schema}: ${JSON.stringify(validate.errors)}`)
    t.equal(status === 200, schema !== 'ErrorResponse', `${path.slice(0, 120)}: ${status}`)
  }
  // Two teams on one simulator: what each key sees, and the 404 of what it cannot, keep to the same schema.
  const teams = await startAppleTeams({ style: 'schema' })
  t.teardown(teams.close)
  const teamCases: Array<[number, string, string]> = [
    [0, '/v1/apps?fields[apps]=name,bundleId,sku&limit=200', 'AppsResponse'],
    [1, '/v1/apps?fields[apps]=name,bundleId,sku&limit=200', 'AppsResponse'],
    [1, `/v1/betaGroups/${APPLE_GROUP_B}/relationships/app`, 'BetaGroupAppLinkageResponse'],
    [1, `/v1/builds/${APPLE_BUILD}/relationships/app`, 'ErrorResponse'],
    [1, `/v1/betaGroups/${APPLE_GROUP}/relationships/app`, 'ErrorResponse'],
    [0, `/v1/betaTesters/${testersOf(APPLE_APP)[0]}/metrics/betaTesterUsages?filter[apps]=${APPLE_SMALL_APP}`, 'ErrorResponse'],
    [1, `/v1/builds?filter[app]=${APPLE_APP}&limit=1`, 'BuildsResponse']
  ]
  for (const [team, path, schema] of teamCases) {
    const validate = ajv.getSchema(`asc#/components/schemas/${schema}`)
    const res = await request(`${teams.baseUrl}${path}`, { headers: { authorization: `Bearer ${await teams.teams[team].token()}` } })
    const body = await res.body.json()
    t.ok(validate?.(body), `team ${team}: ${path.slice(0, 100)} is a ${schema}: ${JSON.stringify(validate?.errors)}`)
    t.equal(res.statusCode === 200, schema !== 'ErrorResponse', `team ${team}: ${path.slice(0, 100)}: ${res.statusCode}`)
  }
  // Apple's published examples differ from its schema exactly where its note says; the 'example' style shows that.
  const examples = await startSims(t, { style: 'example' })
  const validate = ajv.getSchema('asc#/components/schemas/AppsBetaTesterUsagesV1MetricResponse')
  t.notOk(validate?.((await appleGet(examples, `/v1/apps/${APPLE_APP}/metrics/betaTesterUsages?groupBy=betaTesters&limit=1`)).body))
  t.same(new Set(validate?.errors?.map((error) => error.instancePath.replace(/\/\d+\//g, '/*/'))), new Set(['/data/*/dataPoints/*/start', '/data/*/dataPoints/*/end', '/data/*/dimensions/betaTesters/data']))

  const unauthorized = await appleGet(sims, `/v1/builds/${APPLE_BUILD}/metrics/betaBuildUsages`, 'not-a-jwt')
  t.equal(unauthorized.status, 401)
  t.ok(ajv.getSchema('asc#/components/schemas/ErrorResponse')?.(unauthorized.body))
})

t.test('the Apple simulator verifies tokens, pages with cursors and reports its hourly quota', async (t) => {
  const sims = await startSims(t)
  const first = await appleGet(sims, `/v1/apps/${APPLE_APP}/metrics/betaTesterUsages?groupBy=betaTesters&limit=200`)
  t.equal(first.status, 200)
  t.match(first.headers['x-rate-limit'], /^user-hour-lim:3600;user-hour-rem:3599;$/)
  t.equal(first.body.data.length, 200)
  t.equal(first.body.meta.paging.total, 931)
  const next = new URL(first.body.links.next)
  t.equal(next.origin, sims.apple.baseUrl, 'links.next points at the simulator itself')
  const second = await appleGet(sims, next.pathname + next.search)
  t.equal(second.body.data.length, 200)
  t.not(second.body.data[0].dimensions.betaTesters.data.id, first.body.data[0].dimensions.betaTesters.data.id)

  const { privateKeyPem } = await import('./helpers.js').then(async (helpers) => await helpers.appleKeyPair())
  const foreign = await new AppleTokenSigner({ keyId: sims.apple.credentials.keyId, issuerId: sims.apple.credentials.issuerId, privateKeyPem }).token()
  t.equal((await appleGet(sims, `/v1/builds/${APPLE_BUILD}/metrics/betaBuildUsages`, foreign)).status, 401, 'a token signed by another key is refused')
})

t.test('the Gupshup simulator: app tokens, 10 calls a minute per token, its error bodies, no future days', async (t) => {
  const sims = await startSims(t)
  const get = async (token: string, query = 'from=2024-01-01&to=2024-01-31'): Promise<{ status: number, body: any }> => {
    const res = await request(`${sims.gupshup.baseUrl}/partner/app/${GUPSHUP_APP}/usage?${query}`, { headers: { authorization: token } })
    return { status: res.statusCode, body: await res.body.json() }
  }
  const token = sims.gupshup.tokens[GUPSHUP_APP]
  t.same(await get('wrong'), { status: 401, body: { status: 'error', message: 'Authentication Failed' } })
  const ok = await get(token)
  t.equal(ok.status, 200)
  t.equal(ok.body.status, 'success')
  t.ok(ok.body.partnerAppUsageList.length > 10 && ok.body.partnerAppUsageList.length < 31, 'days without traffic are left out')
  t.equal((await get(token, 'from=2024-02-30&to=2024-03-01')).status, 400)
  for (let i = 0; i < 8; i++) await get(token)
  t.same(await get(token), { status: 429, body: { status: 'error', message: 'Too Many Requests' } }, 'the 11th call in a minute')
  t.equal(sims.gupshup.calls.filter((call) => call.status === 429).length, 1)
  const today = new Date().toISOString().slice(0, 10)
  t.ok(usageRows(GUPSHUP_APP, 'x', '2020-01-01', '2999-12-31', today).every((row) => (row.date as string) <= today))
})

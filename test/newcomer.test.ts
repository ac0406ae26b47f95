/**
 * What a newcomer meets first: the Swagger walkthrough, demo data that
 * agrees with itself, and the HTTP details around the reports.
 */
import t from 'tap'
import { APPLE_DEMO } from '../providers/apple/simulator.js'
import { closestName } from '../src/problem.js'
import { APPLE_APP, APPLE_SMALL_APP, GUPSHUP_APP, simulatedGateway } from './helpers.js'

interface SpecParameter { in: string, name: string, required?: boolean, example?: unknown }
interface Spec { paths: Record<string, Record<string, { operationId?: string, parameters?: SpecParameter[], responses: Record<string, unknown> }>> }

/** The request Swagger UI's "Try it out" sends with the pre-filled examples, as a path and query. */
function exampleRequest (path: string, parameters: SpecParameter[]): string {
  let url = path
  const query = new URLSearchParams()
  for (const parameter of parameters) {
    if (parameter.example === undefined) continue
    if (parameter.in === 'path') url = url.replace(`{${parameter.name}}`, encodeURIComponent(String(parameter.example)))
    else if (parameter.in === 'query') query.set(parameter.name, String(parameter.example))
  }
  return query.size === 0 ? url : `${url}?${query.toString()}`
}

t.test('Swagger walkthrough: every report operation, executed with its examples in demo mode, answers data', async (t) => {
  const { app } = await simulatedGateway(t)
  const spec = (await app.inject('/openapi.json')).json<Spec>()
  const reports = Object.entries(spec.paths).filter(([path]) => path.startsWith('/usage/'))
  t.equal(reports.length, 14, 'every report and directory route is in the spec once (no trailing-slash twins)')
  for (const [path, operations] of reports) {
    t.same(Object.keys(operations), ['get'], `${path}: only GET is listed`)
    const parameters = operations.get.parameters ?? []
    const places = parameters.map((parameter) => parameter.in)
    t.same(places, [...places].sort((a, b) => (a === 'path' ? 0 : 1) - (b === 'path' ? 0 : 1)), `${path}: path parameters come first`)
    for (const parameter of parameters.filter((p) => p.required === true)) t.not(parameter.example, undefined, `${path}: '${parameter.name}' has an example`)
    const url = exampleRequest(path, parameters)
    const res = await app.inject(url)
    t.equal(res.statusCode, 200, url)
    const body = res.json()
    t.ok((body.data ?? body.items).length > 0, `${url}: non-empty data`)
  }
})

t.test('one simulated world: the same tester, app and period give the same numbers on every route', async (t) => {
  const { app } = await simulatedGateway(t)
  const tester = APPLE_DEMO.tester
  const groupOf: Record<string, string> = { [APPLE_APP]: 'a1b2c3d4-0000-4000-8000-000000000001', [APPLE_SMALL_APP]: 'a1b2c3d4-0000-4000-8000-000000000002' }
  const metricsOf = async (url: string, dimension: string, id: string): Promise<unknown> => {
    const res = await app.inject(url)
    t.equal(res.statusCode, 200, url)
    const point = (res.json().data as Array<{ dimensions: Record<string, string>, metrics: unknown }>).find((p) => p.dimensions[dimension] === id)
    t.ok(point, `${url}: has ${id}`)
    return point?.metrics
  }
  for (const appId of [APPLE_APP, APPLE_SMALL_APP]) {
    const byPeriod: Array<{ sessions: number }> = []
    for (const period of ['P7D', 'P30D', 'P365D']) {
      const views = [
        await metricsOf(`/usage/apple/apps/${appId}/beta-testers?period=${period}&testerId=${tester}`, 'betaTester', tester),
        await metricsOf(`/usage/apple/apps/${appId}/beta-testers?period=${period}&limit=200`, 'betaTester', tester),
        await metricsOf(`/usage/apple/beta-groups/${groupOf[appId]}/beta-testers?period=${period}&limit=200`, 'betaTester', tester),
        await metricsOf(`/usage/apple/beta-groups/${groupOf[appId]}/beta-testers?period=${period}&testerId=${tester}`, 'betaTester', tester),
        await metricsOf(`/usage/apple/beta-testers/${tester}?appId=${appId}&period=${period}`, 'app', appId)
      ]
      for (const view of views.slice(1)) t.same(view, views[0], `${appId} ${period}: every route agrees`)
      byPeriod.push(views[0] as { sessions: number })
    }
    t.ok(byPeriod[0].sessions <= byPeriod[1].sessions && byPeriod[1].sessions <= byPeriod[2].sessions, `${appId}: a longer period never shows fewer sessions`)
    t.ok(byPeriod[2].sessions > 0, `${appId}: the tester has sessions`)
  }
})

t.test('CSV money columns name their currency', async (t) => {
  const { app } = await simulatedGateway(t)
  const csv = await app.inject({ url: `/usage/gupshup/apps/${GUPSHUP_APP}?from=2024-01-01&to=2024-01-07`, headers: { accept: 'text/csv' } })
  const header = csv.body.split('\r\n')[0].split(',')
  t.ok(header.includes('feesTotal (USD)'), header.join(','))
  t.ok(header.includes('messages'), 'counts keep their bare name')
  const wallet = await app.inject({ url: `/usage/gupshup/apps/${GUPSHUP_APP}/wallet`, headers: { accept: 'text/csv' } })
  t.match(wallet.body.split('\r\n')[0], /balance \(USD\)/)
  const discount = await app.inject({ url: `/usage/gupshup/apps/${GUPSHUP_APP}/discount?year=2024&month=01`, headers: { accept: 'text/csv' } })
  t.match(discount.body.split('\r\n')[0], /billDaily \(currency not stated\)/, 'Gupshup names no currency for the discount report')
})

t.test('a 401 says how to authenticate (WWW-Authenticate: the API key header and Bearer)', async (t) => {
  const { app } = await simulatedGateway(t, { env: { GATEWAY_API_KEYS: 'a-key-of-sixteen-chars' } })
  for (const headers of [{}, { 'x-api-key': 'wrong-key-of-sixteen-chars' }, { authorization: 'Bearer wrong-key-of-sixteen' }]) {
    const res = await app.inject({ url: `/usage/gupshup/apps/${GUPSHUP_APP}/wallet`, headers })
    t.equal(res.statusCode, 401)
    t.match(res.headers['www-authenticate'], /ApiKey realm="usage-gateway", header="X-API-Key"/)
    t.match(res.headers['www-authenticate'], /Bearer realm="usage-gateway"/)
  }
  const ok = await app.inject({ url: `/usage/gupshup/apps/${GUPSHUP_APP}/wallet`, headers: { 'x-api-key': 'a-key-of-sixteen-chars' } })
  t.equal(ok.statusCode, 200)
  t.notOk(ok.headers['www-authenticate'])
})

t.test('methods: another method is a 405 with Allow; HEAD works on every GET route; a trailing slash is the same route', async (t) => {
  const { app, sims } = await simulatedGateway(t)
  const report = `/usage/apple/builds/${APPLE_DEMO.builds[0]}`
  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const) {
    for (const url of [report, `${report}/`]) {
      const res = await app.inject({ method, url })
      t.equal(res.statusCode, 405, `${method} ${url}`)
      t.equal(res.headers.allow, 'GET, HEAD')
      t.equal(res.json().code, 'method_not_allowed')
    }
  }
  t.equal(sims.apple.calls.length, 0, 'no upstream call for a refused method')
  const spec = (await app.inject('/openapi.json')).json<Spec>()
  const getRoutes = ['/health', '/ready', '/metrics', '/usage', '/openapi.json', '/docs/',
    ...Object.entries(spec.paths).filter(([path]) => path.startsWith('/usage/')).map(([path, ops]) => exampleRequest(path, ops.get.parameters ?? []))]
  for (const url of getRoutes) {
    const get = await app.inject(url)
    const head = await app.inject({ method: 'HEAD', url })
    t.equal(head.statusCode, get.statusCode, `HEAD ${url}`)
    t.equal(head.body, '', `HEAD ${url}: no body`)
    t.equal(head.headers['content-type'], get.headers['content-type'], `HEAD ${url}: same type`)
  }
  const slash = await app.inject(`${report}/`)
  t.equal(slash.statusCode, 200)
  t.equal(slash.body, (await app.inject(report)).body)
  const query = await app.inject(`/usage/apple/apps/${APPLE_APP}/beta-testers/?limit=3`)
  t.equal(query.json().data.length, 3, 'with a query after the slash')
})

t.test('a typo is named as such, with what it likely meant, before anything is said missing', async (t) => {
  const { app } = await simulatedGateway(t)
  const cases: Array<[string, string, string]> = [
    [`/usage/gupshup/apps/${GUPSHUP_APP}?frm=2026-10-01&to=2026-10-31`, 'frm', "The query parameter 'frm' is not a parameter of this route (did you mean 'from'?)."],
    [`/usage/apple/apps/${APPLE_APP}/beta-testers?limt=5`, 'limt', "The query parameter 'limt' is not a parameter of this route (did you mean 'limit'?)."],
    [`/usage/apple/apps/${APPLE_APP}/beta-testers?TesterID=x`, 'TesterID', "The query parameter 'TesterID' is not a parameter of this route (did you mean 'testerId'?)."],
    [`/usage/gupshup/apps/${GUPSHUP_APP}/discount?year=2026&month=1&day=3`, 'day', "The query parameter 'day' is not a parameter of this route (it has 'year', 'month', 'granularity', 'labels', 'account')."],
    [`/usage/gupshup/apps/${GUPSHUP_APP}/wallet?limit=3`, 'limit', "The query parameter 'limit' is not a parameter of this route (it has 'labels', 'account')."],
    ['/usage/gupshup/apps?limit=3', 'limit', "The query parameter 'limit' is not a parameter of this route (it has 'account')."],
    [`/usage/apple/apps/${APPLE_APP}/beta-testers?limit=5&limit=6`, 'limit', "The query parameter 'limit' was given 2 times; give it once."]
  ]
  for (const [url, parameter, detail] of cases) {
    const res = await app.inject(url)
    t.equal(res.statusCode, 400, url)
    t.equal(res.json().parameter, parameter, url)
    t.equal(res.json().detail, detail, url)
  }
  t.equal(closestName('quux', ['from', 'to']), undefined, 'no suggestion when nothing is close')
  t.equal(closestName('ot', ['from', 'to']), 'to', 'two swapped letters')
})

t.test('zero-padding is optional: month=1 is month=01, and 2024-1-5 is 2024-01-05', async (t) => {
  const { app, sims } = await simulatedGateway(t)
  const padded = await app.inject(`/usage/gupshup/apps/${GUPSHUP_APP}/discount?year=2024&month=01`)
  const bare = await app.inject(`/usage/gupshup/apps/${GUPSHUP_APP}/discount?year=2024&month=1`)
  t.equal(bare.statusCode, 200)
  t.equal(bare.body, padded.body)
  t.equal(bare.headers['x-cache'], 'HIT', 'the same report, from the cache')
  t.equal(sims.gupshup.otherCalls.filter((path) => path.endsWith('/discount')).length, 1)
  const daily = await app.inject(`/usage/gupshup/apps/${GUPSHUP_APP}?from=2024-1-5&to=2024-01-9`)
  t.equal(daily.statusCode, 200)
  t.equal(daily.json().data[0].start >= '2024-01-05', true)
  t.same(daily.json(), (await app.inject(`/usage/gupshup/apps/${GUPSHUP_APP}?from=2024-01-05&to=2024-01-09`)).json())
})

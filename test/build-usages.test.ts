/**
 * Issue 11, across builds: an app's last builds from the builds directory,
 * one point per build (its usage summed), newest first, named in `labels`.
 */
import t from 'tap'
import { request as undiciRequest } from 'undici'
import { APPLE_APP, JSON_HEADERS, gateway, loopbackUpstream, simulatedGateway } from './helpers.js'

interface Point { start: string, end: string, dimensions: Record<string, string>, metrics: Record<string, number> }

const ROUTE = `/usage/apple/apps/${APPLE_APP}/build-usages`

t.test('the last builds, newest first, each its report summed into one point, with their names', async (t) => {
  const { app, sims } = await simulatedGateway(t)
  const builds = (await app.inject(`/usage/apple/apps/${APPLE_APP}/builds`)).json().items as Array<{ id: string, name: string }>
  t.ok(builds.length >= 2, 'the demo app has several builds')

  const res = await app.inject(`${ROUTE}?last=2`)
  t.equal(res.statusCode, 200)
  const report = res.json()
  t.same(report.subject, { type: 'app', id: APPLE_APP })
  const points = report.data as Point[]
  t.same(points.map((point) => point.dimensions.build), builds.slice(0, 2).map((build) => build.id), 'newest first, as the directory lists them')
  t.same(report.labels.build, Object.fromEntries(builds.slice(0, 2).map((build) => [build.id, { name: build.name }])), 'named without labels=true')
  for (const point of points) {
    const own = (await app.inject(`/usage/apple/builds/${point.dimensions.build}`)).json()
    t.same(point.metrics, own.totals, `${point.dimensions.build}: its report's totals`)
    t.equal(point.start, own.data.map((p: Point) => p.start).sort()[0])
  }
  t.same(report.totals.sessions, points.reduce((sum, point) => sum + point.metrics.sessions, 0))

  // Every part and the directory come from the caches now.
  const calls = sims.apple.calls.length
  const again = await app.inject(`${ROUTE}?last=2`)
  t.equal(again.headers['x-cache'], 'HIT')
  t.equal(sims.apple.calls.length, calls, 'no upstream call')
  t.equal((await app.inject(`${ROUTE}?last=1`)).json().data[0].dimensions.build, builds[0].id, 'last=1: the newest build')

  const csv = await app.inject({ url: `${ROUTE}?last=2`, headers: { accept: 'text/csv' } })
  t.match(csv.headers['content-type'], /^text\/csv/)
  t.match(csv.body.split('\n')[0], /^start,end,build,buildName,account,installs,/, 'each build named beside its id')
})

t.test('last defaults to 10 and is checked before any upstream call', async (t) => {
  const { app, sims } = await simulatedGateway(t)
  for (const last of ['0', '51', 'x']) {
    const res = await app.inject(`${ROUTE}?last=${last}`)
    t.equal(res.statusCode, 400, `last=${last}`)
    t.equal(res.json().parameter, 'last')
  }
  t.equal(sims.apple.calls.length, 0)
  const builds = (await app.inject(`/usage/apple/apps/${APPLE_APP}/builds`)).json().items as unknown[]
  t.equal((await app.inject(ROUTE)).json().data.length, Math.min(10, builds.length))
})

t.test('a build whose report fails is listed in incomplete; the others answer', async (t) => {
  const simulated = await simulatedGateway(t)
  const apple = simulated.sims.apple
  const builds = (await simulated.app.inject(`/usage/apple/apps/${APPLE_APP}/builds`)).json().items as Array<{ id: string }>
  // A front that forwards to the simulator, but answers 500 for the newest build's report.
  const front = await loopbackUpstream(t, (request, response) => {
    if (request.url?.startsWith(`/v1/builds/${builds[0].id}/metrics`) === true) {
      response.writeHead(500, JSON_HEADERS).end(JSON.stringify({ errors: [{ status: '500', code: 'INTERNAL', title: 'Down', detail: 'Down' }] }))
      return
    }
    undiciRequest(apple.baseUrl + (request.url ?? ''), { headers: { authorization: request.headers.authorization ?? '' } }).then(async (upstream) => {
      response.writeHead(upstream.statusCode, { 'content-type': String(upstream.headers['content-type']) }).end(await upstream.body.text())
    }, () => { response.writeHead(502).end() })
  })
  const { credentials } = apple
  const { app } = await gateway(t, {
    env: { APPLE_BASE_URL: front, APPLE_KEY_ID: credentials.keyId, APPLE_ISSUER_ID: credentials.issuerId, APPLE_PRIVATE_KEY: credentials.privateKeyPem }
  })
  const res = await app.inject(`${ROUTE}?last=2`)
  t.equal(res.statusCode, 200)
  t.equal(res.headers['x-incomplete'], '1')
  t.equal(res.headers['x-cache'], 'MISS', 'not a hit: a part is missing')
  t.match(res.json().incomplete, [{ subject: { type: 'build', id: builds[0].id }, status: 502, code: 'upstream_error' }])
  t.same((res.json().data as Point[]).map((point) => point.dimensions.build), [builds[1].id])
  t.equal((await app.inject(`${ROUTE}?last=2&strict=true`)).statusCode, 400, 'strict is not a parameter here: named as such')
})

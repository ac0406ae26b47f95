import t from 'tap'
import { APPLE_DEMO, testersOf } from '../providers/apple/simulator.js'
import { APPLE_APP, APPLE_BUILD, APPLE_SMALL_APP, simulatedGateway } from './helpers.js'

t.test('a build report has the simulator’s numbers under normalized names', async (t) => {
  const { app, sims } = await simulatedGateway(t)
  const res = await app.inject(`/usage/apple/builds/${APPLE_BUILD}`)
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^application\/json/)
  const report = res.json()
  t.same(report.subject, { type: 'build', id: APPLE_BUILD })
  t.equal(report.provider, 'apple')
  t.equal(report.report, 'betaBuildUsages')
  t.same(report.units, { installs: 'count', crashes: 'count', sessions: 'count', invites: 'count', feedback: 'count' })
  t.equal(report.data.length, 1)
  t.same(Object.keys(report.data[0].metrics).sort(), ['crashes', 'feedback', 'installs', 'invites', 'sessions'])
  t.same(report.totals, report.data[0].metrics)
  t.same(report.paging, { total: 1, limit: 50, next: null })
  t.match(report.data[0].start, /^\d{4}-\d{2}-\d{2}$/)
  t.same(sims.apple.calls, [`/v1/builds/${APPLE_BUILD}/metrics/betaBuildUsages`])
})

t.test('paging page by page through an app’s testers reaches every tester exactly once', async (t) => {
  const { app, sims } = await simulatedGateway(t)
  const seen: string[] = []
  let next: string | null = `/usage/apple/apps/${APPLE_APP}/beta-testers?period=P30D&limit=200`
  let pages = 0
  while (next !== null) {
    const res = await app.inject(next)
    t.equal(res.statusCode, 200, next)
    const report: { paging: { total: number, limit: number, next: string | null }, data: Array<{ dimensions: Record<string, string> }> } = res.json()
    t.equal(report.paging.total, APPLE_DEMO.apps[APPLE_APP])
    t.equal(report.paging.limit, 200)
    for (const point of report.data) seen.push(point.dimensions.betaTester)
    next = report.paging.next
    if (next !== null) {
      t.match(next, /^\/usage\/apple\/apps\/6447306070\/beta-testers\?/)
      t.match(next, /period=P30D/, 'keeps the other parameters')
    }
    pages++
  }
  t.equal(pages, 5)
  t.equal(seen.length, 931)
  t.equal(new Set(seen).size, 931, 'no tester twice')
  t.same(new Set(seen), new Set(testersOf(APPLE_APP)))
  t.equal(sims.apple.calls.length, 5)
})

t.test('a tester filter returns that tester only, and asks Apple with filter[betaTesters]', async (t) => {
  const { app } = await simulatedGateway(t)
  const res = await app.inject(`/usage/apple/apps/${APPLE_SMALL_APP}/beta-testers?testerId=${APPLE_DEMO.tester}`)
  t.equal(res.statusCode, 200)
  const report = res.json()
  t.equal(report.data.length, 1)
  t.same(report.data[0].dimensions, { betaTester: APPLE_DEMO.tester })
  t.same(report.units, { crashes: 'count', sessions: 'count', feedback: 'count' })
  t.equal(report.paging.next, null)
})

t.test('both shapes Apple documents (examples and schema) normalize alike', async (t) => {
  const example = await simulatedGateway(t, { style: 'example' })
  const schema = await simulatedGateway(t, { style: 'schema' })
  for (const url of [`/usage/apple/builds/${APPLE_BUILD}`, `/usage/apple/apps/${APPLE_APP}/beta-testers?limit=5&period=P7D`]) {
    const a = (await example.app.inject(url)).json()
    const b = (await schema.app.inject(url)).json()
    t.same(b, a, url)
  }
})

t.test('an unknown id is a 404 problem from Apple', async (t) => {
  const { app } = await simulatedGateway(t)
  const res = await app.inject('/usage/apple/builds/no-such-build')
  t.equal(res.statusCode, 404)
  t.match(res.headers['content-type'], /^application\/problem\+json/)
  t.match(res.json(), { code: 'not_found', status: 404, provider: 'apple', detail: /no build 'no-such-build'/ })
})

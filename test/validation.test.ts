import t from 'tap'
import fc from 'fast-check'
import { APPLE_APP, GUPSHUP_APP, simulatedGateway } from './helpers.js'

const bad: Array<[string, string, RegExp]> = [
  [`/usage/apple/apps/${APPLE_APP}/beta-testers?period=P8D`, 'period', /must be one of P7D, P30D, P90D, P365D/],
  [`/usage/apple/apps/${APPLE_APP}/beta-testers?period=p7d`, 'period', /must be one of/],
  [`/usage/apple/apps/${APPLE_APP}/beta-testers?limit=0`, 'limit', /at least 1/],
  [`/usage/apple/apps/${APPLE_APP}/beta-testers?limit=201`, 'limit', /at most 200/],
  [`/usage/apple/apps/${APPLE_APP}/beta-testers?limit=ten`, 'limit', /whole number/],
  [`/usage/apple/apps/${APPLE_APP}/beta-testers?limit=1.5`, 'limit', /whole number/],
  [`/usage/apple/apps/${APPLE_APP}/beta-testers?limit=5&limit=6`, 'limit', /'limit' was given 2 times; give it once/],
  [`/usage/apple/apps/${APPLE_APP}/beta-testers?testerId=a/b`, 'testerId', /letters, digits or dashes/],
  [`/usage/apple/apps/${APPLE_APP}/beta-testers?cursor=%00`, 'cursor', /cursor copied from paging.next/],
  [`/usage/apple/apps/${APPLE_APP}/beta-testers?limt=5`, 'limt', /not a parameter of this route/],
  [`/usage/apple/apps/${APPLE_APP}/beta-testers?all=maybe`, 'all', /must be a single boolean/],
  ['/usage/apple/builds/abc?limit=5', 'limit', /not a parameter/],
  ['/usage/apple/apps/has_underscore/beta-testers', 'appId', /letters, digits or dashes/],
  [`/usage/gupshup/apps/${GUPSHUP_APP}?to=2024-01-02`, 'from', /is required/],
  [`/usage/gupshup/apps/${GUPSHUP_APP}?from=2024-01-02`, 'to', /is required/],
  [`/usage/gupshup/apps/${GUPSHUP_APP}?from=2024-02-30&to=2024-03-02`, 'from', /real calendar date/],
  [`/usage/gupshup/apps/${GUPSHUP_APP}?from=2023-02-29&to=2023-03-02`, 'from', /real calendar date/],
  [`/usage/gupshup/apps/${GUPSHUP_APP}?from=2024-1-32&to=2024-02-05`, 'from', /real calendar date/],
  [`/usage/gupshup/apps/${GUPSHUP_APP}?from=24-01-02&to=2024-02-05`, 'from', /real calendar date/],
  [`/usage/gupshup/apps/${GUPSHUP_APP}?frm=2024-01-02&to=2024-02-05`, 'frm', /'frm' is not a parameter of this route \(did you mean 'from'\?\)/],
  [`/usage/gupshup/apps/${GUPSHUP_APP}/discount?year=2024&month=13`, 'month', /must be a month/],
  [`/usage/gupshup/apps/${GUPSHUP_APP}/discount?year=2024&month=0`, 'month', /must be a month/],
  [`/usage/gupshup/apps/${GUPSHUP_APP}/discount?year=2024&month=001`, 'month', /must be a month/],
  [`/usage/gupshup/apps/${GUPSHUP_APP}?from=2024-01-01&to=2024-13-01`, 'to', /real calendar date/],
  [`/usage/gupshup/apps/${GUPSHUP_APP}?from=2024-01-05&to=2024-01-04`, 'to', /must not be before 'from'/],
  [`/usage/gupshup/apps/${GUPSHUP_APP}?from=2023-01-01&to=2024-01-02`, 'to', /at most 366 days/]
]

t.test('bad parameters get a 400 problem naming the parameter, before any upstream call', async (t) => {
  const { app, sims } = await simulatedGateway(t)
  for (const [url, parameter, detail] of bad) {
    const res = await app.inject(url)
    t.equal(res.statusCode, 400, url)
    t.match(res.headers['content-type'], /^application\/problem\+json/, url)
    const problem = res.json()
    t.equal(problem.code, 'invalid_parameter', url)
    t.equal(problem.parameter, parameter, url)
    t.match(problem.detail, detail, url)
    t.match(problem.detail, parameter, `${url}: the detail names the parameter`)
  }
  t.same(sims.apple.calls, [], 'Apple was never called')
  t.same(sims.gupshup.calls, [], 'Gupshup was never called')
})

t.test('a leap day and a 366-day range are valid', async (t) => {
  const { app } = await simulatedGateway(t)
  t.equal((await app.inject(`/usage/gupshup/apps/${GUPSHUP_APP}?from=2024-02-29&to=2024-02-29`)).statusCode, 200)
  // A cold year is 12 upstream windows, more than one minute's budget: valid, but the answer waits for budget.
  const year = await app.inject(`/usage/gupshup/apps/${GUPSHUP_APP}?from=2024-01-01&to=2024-12-31`)
  t.not(year.statusCode, 400)
})

t.test('an unknown route is a 404 problem', async (t) => {
  const { app } = await simulatedGateway(t)
  const res = await app.inject('/usage/nowhere')
  t.equal(res.statusCode, 404)
  t.match(res.headers['content-type'], /^application\/problem\+json/)
  t.equal(res.json().code, 'not_found')
})

t.test('whatever the query, the gateway answers 200 or a 4xx problem, never a 5xx', async (t) => {
  const { app, sims } = await simulatedGateway(t)
  const value = fc.oneof(fc.string(), fc.constantFrom('P7D', 'P365D', '5', '200', '2024-01-01', '2024-02-29', '-1', '1e2', ''), fc.integer().map(String))
  await fc.assert(fc.asyncProperty(
    fc.constantFrom('period', 'limit', 'testerId', 'cursor', 'from', 'to', 'other'),
    value,
    fc.constantFrom(`/usage/apple/apps/${APPLE_APP}/beta-testers`, `/usage/gupshup/apps/${GUPSHUP_APP}`),
    async (name, raw, route) => {
      const query = new URLSearchParams({ [name]: raw })
      if (route.includes('gupshup') && name !== 'from') query.set('from', '2024-01-01')
      if (route.includes('gupshup') && name !== 'to') query.set('to', '2024-01-03')
      const before = sims.apple.calls.length + sims.gupshup.calls.length
      const res = await app.inject(`${route}?${query.toString()}`)
      if (res.statusCode === 200) return true
      const after = sims.apple.calls.length + sims.gupshup.calls.length
      const problem = res.json()
      if (res.statusCode !== 400 || typeof problem.parameter !== 'string') return false
      // A cursor is opaque: only the upstream can tell a bad one, and says so as a 400.
      return problem.code === 'invalid_parameter' ? after === before : problem.code === 'upstream_bad_request' && name === 'cursor'
    }
  ), { numRuns: 300, seed: 20261122 })
  t.pass('300 generated queries')
})

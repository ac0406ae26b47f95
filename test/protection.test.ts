import t from 'tap'
import fc from 'fast-check'
import { loadConfig } from '../providers/index.js'
import { addDays, daysBetween, isoDay } from '../src/days.js'
import { APPLE_BUILD, GUPSHUP_APP, JSON_HEADERS, appleEnv, fixture, gateway, loopbackUpstream, mockedGateway, simulatedGateway } from './helpers.js'

const usage = (from: string, to: string): string => `/usage/gupshup/apps/${GUPSHUP_APP}?from=${from}&to=${to}`
const BUILD = `/usage/apple/builds/${APPLE_BUILD}`
const BUILD_PATH = `/v1/builds/${APPLE_BUILD}/metrics/betaBuildUsages`
type Point = { start: string }

t.test('Gupshup: after one month is fetched, every sub-range of it costs no upstream call', async (t) => {
  const { app, sims } = await simulatedGateway(t)
  const month = await app.inject(usage('2024-01-01', '2024-01-31'))
  t.equal(month.statusCode, 200)
  t.same(sims.gupshup.calls.map(({ from, to }) => [from, to]), [['2024-01-01', '2024-01-31']])
  const monthDays = month.json().data as Point[]
  await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 31 }), fc.integer({ min: 1, max: 31 }), async (a, b) => {
    const [from, to] = [`2024-01-${String(Math.min(a, b)).padStart(2, '0')}`, `2024-01-${String(Math.max(a, b)).padStart(2, '0')}`]
    const res = await app.inject(usage(from, to))
    const expected = monthDays.filter((point) => point.start >= from && point.start <= to)
    return res.headers['x-cache'] === 'HIT' && JSON.stringify(res.json().data) === JSON.stringify(expected)
  }), { numRuns: 60, seed: 7 })
  t.equal(sims.gupshup.calls.length, 1, 'still one upstream call')
  // A day without traffic is a point of zeroes, with no running bill: the upstream said nothing of it.
  const present = new Set((monthDays as Array<Point & { metrics: Record<string, number> }>).filter((point) => point.metrics.cumulativeBill !== undefined).map((point) => point.start))
  const quiet = daysBetween('2024-01-01', '2024-01-31').find((day) => !present.has(day))
  if (quiet === undefined) throw new Error('the simulator left no day of January 2024 empty')
  const res = await app.inject(usage(quiet, quiet))
  t.match(res.json().data, [{ start: quiet, end: quiet, metrics: { messages: 0, feesTotal: 0 } }], `${quiet} had no traffic`)
  t.notOk('cumulativeBill' in res.json().data[0].metrics)
  t.equal(res.headers['x-cache'], 'HIT', 'and is known-empty')
  t.equal(sims.gupshup.calls.length, 1, 'a known-empty day is not fetched again')
})

t.test('Gupshup: only days missing from the cache are fetched, each gap in one call of at most 31 days', async (t) => {
  const { app, sims } = await simulatedGateway(t)
  const windows = (): string[][] => sims.gupshup.calls.map(({ from, to }) => [from, to])
  // A call costs the same whatever its length: a cold gap is widened to 31 days of uncached neighbours.
  await app.inject(usage('2024-01-01', '2024-01-05'))
  t.same(windows(), [['2024-01-01', '2024-01-31']])
  t.equal((await app.inject(usage('2024-01-10', '2024-01-15'))).headers['x-cache'], 'HIT')
  await app.inject(usage('2024-01-20', '2024-02-10'))
  t.same(windows().at(-1), ['2024-02-01', '2024-03-02'], 'only the part not cached')
  await app.inject(usage('2024-03-10', '2024-03-12'))
  t.same(windows().at(-1), ['2024-03-10', '2024-04-09'])
  const bridged = await app.inject(usage('2024-03-01', '2024-03-20'))
  t.equal(bridged.headers['x-cache'], 'MISS')
  t.same(windows().at(-1), ['2024-03-03', '2024-03-09'], 'a gap between cached days is fetched alone, in one call')
  t.equal(sims.gupshup.calls.length, 4)

  const quarter = await app.inject(usage('2024-06-01', '2024-08-31'))
  t.equal(quarter.statusCode, 200)
  t.same(windows().slice(4), [['2024-06-01', '2024-07-01'], ['2024-07-02', '2024-08-01'], ['2024-08-02', '2024-09-01']])
  t.ok(sims.gupshup.calls.every(({ from, to }) => (Date.parse(to) - Date.parse(from)) / 86_400_000 + 1 <= 31))
})

t.test('Gupshup: concurrent overlapping requests share the days in flight', async (t) => {
  const { app, sims } = await simulatedGateway(t)
  const ranges = [['2024-03-01', '2024-03-31'], ['2024-03-05', '2024-03-09'], ['2024-03-20', '2024-03-31'], ['2024-03-01', '2024-03-01']]
  const answers = await Promise.all(Array.from({ length: 20 }, async (_, index) => await app.inject(usage(...ranges[index % ranges.length] as [string, string]))))
  t.ok(answers.every((res) => res.statusCode === 200))
  t.equal(sims.gupshup.calls.length, 1)
})

t.test('Gupshup: 25 distinct one-day requests within a minute never cause an upstream 429', async (t) => {
  const { app, sims } = await simulatedGateway(t)
  const answers = []
  // Days far apart, so that no fetched window covers another's day.
  for (let index = 0; index < 25; index++) {
    const day = addDays('2022-01-01', index * 40)
    answers.push(await app.inject(usage(day, day)))
  }
  t.equal(sims.gupshup.calls.filter((call) => call.status === 429).length, 0, 'Gupshup never said 429')
  t.equal(sims.gupshup.calls.length, 10, 'ten calls: the budget of one minute')
  t.equal(answers.filter((res) => res.statusCode === 200).length, 10)
  const refused = answers.filter((res) => res.statusCode === 429)
  t.equal(refused.length, 15)
  t.equal(refused[0].json().code, 'upstream_rate_limited')
  const retryAfter = Number(refused[0].headers['retry-after'])
  t.ok(retryAfter > 0 && retryAfter <= 61, `Retry-After ${retryAfter} s says when the budget refills`)
})

t.test('Gupshup: a cold range larger than a minute’s budget completes once the budget refills', async (t) => {
  let clock = Date.parse('2026-06-01T12:00:00Z')
  const { app, sims } = await simulatedGateway(t, { now: () => clock })
  const year = usage('2025-01-01', '2025-12-31')
  const first = await app.inject(year)
  t.equal(first.statusCode, 429, 'answered as soon as a window is refused')
  // The ten windows the budget allowed are still landing in the cache.
  while (sims.gupshup.calls.length < 10) await new Promise((resolve) => setTimeout(resolve, 5))
  clock += Number(first.headers['retry-after']) * 1000
  const second = await app.inject(year)
  t.equal(second.statusCode, 200)
  t.equal(sims.gupshup.calls.length, 12, 'only the two missing windows')
  t.equal(sims.gupshup.calls.filter((call) => call.status === 429).length, 0)
  t.equal(second.json().data.at(-1).start <= '2025-12-31', true)
})

t.test('Gupshup: settled days are kept a day, today and yesterday a few minutes', async (t) => {
  let clock = Date.parse('2026-06-10T12:00:00Z')
  const { app, sims } = await simulatedGateway(t, { now: () => clock })
  const today = isoDay(clock)
  await app.inject(usage(addDays(today, -6), today))
  t.same(sims.gupshup.calls.map(({ from, to }) => [from, to]), [[addDays(today, -29), addDays(today, 1)]], 'never past tomorrow (UTC)')
  clock += 10 * 60_000
  const later = await app.inject(usage(addDays(today, -6), today))
  t.equal(later.headers['x-cache'], 'STALE', 'recent days expired: answered at once, refreshed behind')
  await new Promise((resolve) => setTimeout(resolve, 30))
  t.same(sims.gupshup.calls.slice(1).map(({ from, to }) => [from, to]), [[addDays(today, -1), addDays(today, 1)]], 'only the recent days are refetched')
  const settled = await app.inject(usage(addDays(today, -6), addDays(today, -2)))
  t.equal(settled.headers['x-cache'], 'HIT')
  t.match(settled.headers['cache-control'], /max-age=(8[0-9]{4})/, 'settled days stay fresh for most of a day')
})

t.test('Gupshup: an expired day with a failing upstream answers STALE; a never-seen day answers the error', async (t) => {
  let clock = Date.parse('2026-06-10T12:00:00Z')
  const { app, gupshup } = await mockedGateway(t, { now: () => clock })
  gupshup.intercept({ path: /usage\?/, method: 'GET' }).reply(200, fixture('gupshup-usage') as object, { headers: JSON_HEADERS })
  gupshup.intercept({ path: /usage/, method: 'GET' }).reply(500, { status: 'error', message: 'down' }, { headers: JSON_HEADERS }).persist()
  t.equal((await app.inject(usage('2026-06-01', '2026-06-03'))).statusCode, 200)
  clock += 2 * 86_400_000
  const stale = await app.inject({ url: usage('2026-06-01', '2026-06-03'), headers: { 'cache-control': 'no-cache' } })
  t.equal(stale.statusCode, 200)
  t.equal(stale.headers['x-cache'], 'STALE')
  const cold = await app.inject(usage('2026-05-01', '2026-05-03'))
  t.equal(cold.statusCode, 502)
})

t.test('Apple: below the X-Rate-Limit reserve, no call is made: stale answers stay, cold ones are 429', async (t) => {
  let clock = Date.parse('2026-06-10T12:00:00Z')
  const { app, apple } = await mockedGateway(t, { now: () => clock, env: { APPLE_QUOTA_RESERVE: '50', CACHE_TTL_SECONDS: '60' } })
  let calls = 0
  apple.intercept({ path: /metrics/, method: 'GET' }).reply(200, () => { calls++; return fixture('apple-build-usages') as object }, {
    headers: { ...JSON_HEADERS, 'x-rate-limit': 'user-hour-lim:3600;user-hour-rem:40;' }
  }).persist()
  t.equal((await app.inject(BUILD)).statusCode, 200)
  const cold = await app.inject('/usage/apple/builds/other-build')
  t.equal(cold.statusCode, 429)
  t.equal(cold.json().code, 'upstream_rate_limited')
  t.ok(Number(cold.headers['retry-after']) <= 60)
  t.equal(calls, 1, 'the reserve is not spent')
  t.equal((await app.inject(BUILD)).headers['x-cache'], 'HIT')
  clock += 61_000
  const stale = await app.inject(BUILD)
  t.equal(stale.headers['x-cache'], 'STALE')
  await new Promise((resolve) => setTimeout(resolve, 20))
  t.equal(calls, 2, 'after a minute one probe refreshes the figures')
})

t.test('Apple: a 429 holds back every request for the key for Retry-After, then calls resume', async (t) => {
  let clock = Date.parse('2026-06-10T12:00:00Z')
  const { app, apple } = await mockedGateway(t, { now: () => clock })
  let calls = 0
  apple.intercept({ path: /metrics/, method: 'GET' }).reply(429, () => { calls++; return {} }, { headers: { ...JSON_HEADERS, 'retry-after': '30' } })
  apple.intercept({ path: /metrics/, method: 'GET' }).reply(200, () => { calls++; return fixture('apple-build-usages') as object }, { headers: JSON_HEADERS }).persist()
  t.equal((await app.inject(BUILD)).statusCode, 429)
  for (const id of ['b1', 'b2', 'b3']) {
    const res = await app.inject(`/usage/apple/builds/${id}`)
    t.equal(res.statusCode, 429)
    t.ok(Number(res.headers['retry-after']) <= 30)
  }
  t.equal(calls, 1, 'no retry loop: one upstream call for four requests')
  clock += 31_000
  t.equal((await app.inject(BUILD)).statusCode, 200)
  t.equal(calls, 2)
})

t.test('Apple: without Retry-After, consecutive 429s back off longer each time', async (t) => {
  let clock = Date.parse('2026-06-10T12:00:00Z')
  const { app, apple } = await mockedGateway(t, { now: () => clock })
  apple.intercept({ path: /metrics/, method: 'GET' }).reply(429, {}, { headers: JSON_HEADERS }).persist()
  t.equal((await app.inject(BUILD)).headers['retry-after'], '10')
  clock += 10_000
  t.equal((await app.inject(BUILD)).headers['retry-after'], '20')
  clock += 20_000
  t.equal((await app.inject(BUILD)).headers['retry-after'], '40')
})

t.test('retries: network errors and 5xx at most twice; 4xx never', async (t) => {
  const { app, apple } = await mockedGateway(t)
  let calls = 0
  apple.intercept({ path: BUILD_PATH, method: 'GET' }).reply(503, () => { calls++; return 'busy' })
  apple.intercept({ path: BUILD_PATH, method: 'GET' }).replyWithError(Object.assign(new Error('reset'), { code: 'ECONNRESET' }))
  apple.intercept({ path: BUILD_PATH, method: 'GET' }).reply(200, () => { calls++; return fixture('apple-build-usages') as object }, { headers: JSON_HEADERS })
  const recovered = await app.inject(BUILD)
  t.equal(recovered.statusCode, 200, 'a 503, a reset, then success')
  t.equal(calls, 2)

  apple.intercept({ path: /other/, method: 'GET' }).reply(502, () => { calls++; return 'bad' }).times(5)
  t.equal((await app.inject('/usage/apple/builds/other')).statusCode, 502)
  t.equal(calls, 5, 'three attempts, no more')

  apple.intercept({ path: /third/, method: 'GET' }).reply(400, () => { calls++; return { errors: [] } }, { headers: JSON_HEADERS }).times(3)
  t.equal((await app.inject('/usage/apple/builds/third')).statusCode, 400)
  t.equal(calls, 6, 'a 400 is not retried')
})

t.test('an upstream 404 is remembered for a minute: a missing id cannot spend the budget', async (t) => {
  let clock = Date.parse('2026-06-10T12:00:00Z')
  const { app, apple } = await mockedGateway(t, { now: () => clock })
  let calls = 0
  apple.intercept({ path: /missing/, method: 'GET' }).reply(404, () => { calls++; return { errors: [{ status: '404', code: 'NOT_FOUND', title: 'nope' }] } }, { headers: JSON_HEADERS }).persist()
  for (let i = 0; i < 5; i++) t.equal((await app.inject('/usage/apple/builds/missing')).statusCode, 404)
  t.equal((await app.inject('/usage/apple/builds/missing')).json().code, 'not_found')
  t.equal(calls, 1)
  clock += 61_000
  await app.inject('/usage/apple/builds/missing')
  t.equal(calls, 2)
})

t.test('Apple calls in flight are capped per key (APPLE_MAX_CONCURRENCY)', async (t) => {
  let inFlight = 0
  let most = 0
  const slow = await loopbackUpstream(t, (_request, response) => {
    inFlight++
    most = Math.max(most, inFlight)
    setTimeout(() => {
      inFlight--
      response.writeHead(200, JSON_HEADERS).end(JSON.stringify(fixture('apple-build-usages')))
    }, 60)
  })
  const config = loadConfig({ LOG_LEVEL: 'silent', APPLE_MAX_CONCURRENCY: '2', ...await appleEnv(slow) })
  const { app } = await gateway(t, { config })
  const answers = await Promise.all(Array.from({ length: 8 }, async (_, index) => await app.inject(`/usage/apple/builds/build-${index}`)))
  t.ok(answers.every((res) => res.statusCode === 200))
  t.equal(most, 2)
})

import t from 'tap'
import { APPLE_APP, APPLE_BUILD, GUPSHUP_APP, JSON_HEADERS, fixture, mockedGateway, simulatedGateway } from './helpers.js'

const BUILD = `/usage/apple/builds/${APPLE_BUILD}`
const BUILD_PATH = `/v1/builds/${APPLE_BUILD}/metrics/betaBuildUsages`

t.test('a repeated request is served from the cache with one upstream call', async (t) => {
  const { app, sims } = await simulatedGateway(t)
  const first = await app.inject(BUILD)
  const second = await app.inject(BUILD)
  t.equal(first.headers['x-cache'], 'MISS')
  t.equal(second.headers['x-cache'], 'HIT')
  t.equal(second.body, first.body)
  t.equal(second.headers.etag, first.headers.etag)
  t.match(second.headers['cache-control'], /^private, max-age=\d+$/)
  t.match(second.headers.age, /^\d+$/)
  t.equal(sims.apple.calls.length, 1)
})

t.test('fifty concurrent identical cold requests make one upstream call', async (t) => {
  const { app, sims } = await simulatedGateway(t)
  const url = `/usage/apple/apps/${APPLE_APP}/beta-testers?limit=100&period=P90D`
  const answers = await Promise.all(Array.from({ length: 50 }, async () => await app.inject(url)))
  t.ok(answers.every((res) => res.statusCode === 200))
  t.equal(new Set(answers.map((res) => res.body)).size, 1)
  t.equal(sims.apple.calls.length, 1)
})

t.test('the cache key is the normalized request, not its spelling', async (t) => {
  const { app, sims } = await simulatedGateway(t)
  await app.inject(`/usage/apple/apps/${APPLE_APP}/beta-testers?period=P7D&limit=10`)
  const reordered = await app.inject(`/usage/apple/apps/${APPLE_APP}/beta-testers?limit=10&period=P7D`)
  t.equal(reordered.headers['x-cache'], 'HIT')
  const other = await app.inject(`/usage/apple/apps/${APPLE_APP}/beta-testers?limit=11&period=P7D`)
  t.equal(other.headers['x-cache'], 'MISS')
  t.equal(sims.apple.calls.length, 2)
})

t.test('callers with different API keys share cached reports', async (t) => {
  const keys = ['key-one-0123456789abcdef', 'key-two-0123456789abcdef']
  const { app, sims } = await simulatedGateway(t, { env: { GATEWAY_API_KEYS: keys.join(',') } })
  const a = await app.inject({ url: `/usage/gupshup/apps/${GUPSHUP_APP}?from=2024-01-01&to=2024-01-09`, headers: { 'x-api-key': keys[0] } })
  const b = await app.inject({ url: `/usage/gupshup/apps/${GUPSHUP_APP}?from=2024-01-01&to=2024-01-09`, headers: { authorization: `Bearer ${keys[1]}` } })
  t.equal(a.statusCode, 200)
  t.equal(b.headers['x-cache'], 'HIT')
  t.equal(sims.gupshup.calls.length, 1)
})

t.test('If-None-Match with the current ETag gets 304 and no body', async (t) => {
  const { app } = await simulatedGateway(t)
  const first = await app.inject(BUILD)
  const etag = String(first.headers.etag)
  t.match(etag, /^"[\w-]+"$/, 'a strong validator')
  for (const header of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
    const res = await app.inject({ url: BUILD, headers: { 'if-none-match': header } })
    t.equal(res.statusCode, 304, header)
    t.equal(res.body, '')
    t.equal(res.headers.etag, etag)
  }
  const stale = await app.inject({ url: BUILD, headers: { 'if-none-match': '"not-it"' } })
  t.equal(stale.statusCode, 200)
})

t.test('Cache-Control: no-cache from the caller forces an upstream refresh (with no refresh floor)', async (t) => {
  const { app, sims } = await simulatedGateway(t, { env: { CACHE_REFRESH_FLOOR_SECONDS: '0' } })
  await app.inject(BUILD)
  const forced = await app.inject({ url: BUILD, headers: { 'cache-control': 'no-cache' } })
  t.equal(forced.statusCode, 200)
  t.equal(forced.headers['x-cache'], 'MISS')
  t.equal(sims.apple.calls.length, 2)
  const pragma = await app.inject({ url: BUILD, headers: { pragma: 'no-cache' } })
  t.equal(pragma.headers['x-cache'], 'MISS')
  t.equal(sims.apple.calls.length, 3)
})

t.test('CACHE_TTL_SECONDS=0 turns caching off', async (t) => {
  const { app, sims } = await simulatedGateway(t, { env: { CACHE_TTL_SECONDS: '0' } })
  await app.inject(BUILD)
  const again = await app.inject(BUILD)
  t.equal(again.headers['x-cache'], 'MISS')
  t.equal(again.headers['cache-control'], 'private, max-age=0')
  t.equal(sims.apple.calls.length, 2)
})

t.test('an expired entry is answered at once (STALE) while one refresh runs; a failing upstream keeps it', async (t) => {
  let clock = Date.parse('2026-01-01T00:00:00Z')
  const { app, apple } = await mockedGateway(t, { now: () => clock, env: { CACHE_TTL_SECONDS: '60' } })
  let calls = 0
  const body = fixture('apple-build-usages') as { data: Array<{ dataPoints: Array<{ values: Record<string, number> }> }> }
  apple.intercept({ path: BUILD_PATH, method: 'GET' }).reply(200, () => {
    calls++
    body.data[0].dataPoints[0].values.installCount = calls
    return body
  }, { headers: JSON_HEADERS }).persist()

  t.equal((await app.inject(BUILD)).json().totals.installs, 1)
  clock += 30_000
  const fresh = await app.inject(BUILD)
  t.equal(fresh.headers['x-cache'], 'HIT')
  t.equal(fresh.headers.age, '30')
  t.equal(fresh.headers['cache-control'], 'private, max-age=30')

  clock += 60_000
  const stale = await app.inject(BUILD)
  t.equal(stale.headers['x-cache'], 'STALE')
  t.equal(stale.headers['cache-control'], 'private, max-age=0')
  t.equal(stale.json().totals.installs, 1, 'the old report, at once')
  await new Promise((resolve) => setTimeout(resolve, 20))
  const refreshed = await app.inject(BUILD)
  t.equal(refreshed.headers['x-cache'], 'HIT')
  t.equal(refreshed.json().totals.installs, 2, 'the background refresh landed')
  t.equal(calls, 2)
})

t.test('stale-if-error: an expired report is answered while the upstream fails, within the stale window only', async (t) => {
  let clock = Date.parse('2026-01-01T00:00:00Z')
  const { app, apple } = await mockedGateway(t, { now: () => clock, env: { CACHE_TTL_SECONDS: '60' } })
  apple.intercept({ path: BUILD_PATH, method: 'GET' }).reply(200, fixture('apple-build-usages') as object, { headers: JSON_HEADERS })
  apple.intercept({ path: BUILD_PATH, method: 'GET' }).reply(503, 'down').persist()
  t.equal((await app.inject(BUILD)).statusCode, 200)

  clock += 120_000
  for (let i = 0; i < 3; i++) {
    const res = await app.inject(BUILD)
    t.equal(res.statusCode, 200)
    t.equal(res.headers['x-cache'], 'STALE')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  clock += 25 * 3_600_000
  const tooOld = await app.inject(BUILD)
  t.equal(tooOld.statusCode, 502, 'past the stale window the failure shows')
})

/**
 * The hit path's short cut (routes/report-route.ts, RequestMemo): a request
 * asked again is answered from its fresh cache entry before validation and
 * the handler. Whatever takes that path must look, to a caller and to the
 * logs, exactly like an answer from the full path.
 */
import { pino } from 'pino'
import t from 'tap'
import { APPLE_APP, APPLE_BUILD, JSON_HEADERS, fixture, mockedGateway, simulatedGateway } from './helpers.js'

const BUILD = `/usage/apple/builds/${APPLE_BUILD}`
const TESTERS = `/usage/apple/apps/${APPLE_APP}/beta-testers?limit=2&period=P30D`
const KEYS = { a: 'caller-a-0123456789', b: 'caller-b-0123456789', c: 'caller-c-0123456789' }
const as = (key: string, url = BUILD, headers: Record<string, string> = {}): { url: string, headers: Record<string, string> } => ({ url, headers: { 'x-api-key': key, ...headers } })
/** The headers a caller reads, without those that differ per request or per caller's count. */
const shared = (headers: Record<string, unknown>): Record<string, unknown> => {
  const { 'x-request-id': _id, 'x-ratelimit-remaining': _remaining, date: _date, ...rest } = headers
  return rest
}

t.test('a request asked again answers as the full path does: body, headers, ETag/304, CSV, one upstream call', async (t) => {
  // A clock that stands still: Age and max-age compared across requests do not depend on when a second ticks.
  const still = Date.now()
  const { app, sims } = await simulatedGateway(t, { now: () => still, env: { GATEWAY_API_KEYS: `a=${KEYS.a},b=${KEYS.b},c=${KEYS.c}` } })
  for (const url of [BUILD, TESTERS]) {
    const miss = await app.inject(as(KEYS.a, url))
    t.equal(miss.headers['x-cache'], 'MISS')
    // Caller a's repeat takes the short cut; caller b's first request the full path, from the same entry.
    const [short, full] = [await app.inject(as(KEYS.a, url)), await app.inject(as(KEYS.b, url))]
    t.equal(short.statusCode, 200)
    t.equal(short.headers['x-cache'], 'HIT')
    t.same(shared(short.headers), shared(full.headers), `${url}: the same headers`)
    t.equal(short.body, full.body)
    t.equal(short.body, miss.body)
    const notModified = await app.inject(as(KEYS.a, url, { 'if-none-match': String(short.headers.etag) }))
    t.equal(notModified.statusCode, 304, 'If-None-Match')
    t.equal(notModified.body, '')
    const [csv, fullCsv] = [await app.inject(as(KEYS.a, url, { accept: 'text/csv' })), await app.inject(as(KEYS.c, url, { accept: 'text/csv' }))]
    t.match(csv.headers['content-type'], /^text\/csv/)
    t.equal(csv.body, fullCsv.body, 'CSV by Accept')
    t.not(csv.headers.etag, short.headers.etag, 'with its own ETag')
  }
  const tester = await app.inject(as(KEYS.a, TESTERS))
  t.match(tester.headers, { 'x-total-count': /^\d+$/, link: /rel="next"/ }, 'a paged report keeps Link and X-Total-Count')
  t.equal(sims.apple.calls.filter((call) => call.includes('/metrics/')).length, 2, 'one upstream call per report')
})

t.test('a remembered request still has its key checked and counted against the limit, and is logged', async (t) => {
  const gw = await simulatedGateway(t, { env: { GATEWAY_API_KEYS: `a=${KEYS.a}`, GATEWAY_RATE_LIMIT_PER_MINUTE: '3' } })
  const { app } = gw
  t.equal((await app.inject(as(KEYS.a))).statusCode, 200)
  const second = await app.inject(as(KEYS.a))
  t.equal(second.headers['x-ratelimit-remaining'], '1')
  t.equal((await app.inject(as('not-a-key-0123456789'))).statusCode, 401, 'a wrong key is refused')
  t.equal((await app.inject({ url: BUILD })).statusCode, 401, 'no key is refused')
  t.equal((await app.inject(as(KEYS.a))).statusCode, 200)
  const over = await app.inject(as(KEYS.a))
  t.equal(over.statusCode, 429, 'the limit counts remembered requests')
  t.equal(over.headers['x-ratelimit-remaining'], '0')
  const lines = gw.logs.filter((line) => line.msg === 'request')
  t.equal(lines.length, 6, 'one line per request')
  t.match(lines[1], { requestId: second.headers['x-request-id'], method: 'GET', url: BUILD, route: '/usage/apple/builds/:buildId', caller: 'a', account: 'default', statusCode: 200, cache: 'HIT', upstreamCalls: 0, upstreamMs: 0 })
  t.match((await app.inject('/metrics')).body, /gateway_cache_results_total\{result="HIT"\} 2/)
})

t.test('a remembered request whose entry went stale, or asked with no-cache, takes the full path', async (t) => {
  let now = Date.parse('2026-11-30T12:00:00Z')
  const { app, sims } = await simulatedGateway(t, { now: () => now, env: { CACHE_TTL_SECONDS: '60', CACHE_REFRESH_FLOOR_SECONDS: '0' } })
  const upstreamCalls = (): number => sims.apple.calls.filter((call) => call.includes('/metrics/')).length
  await app.inject(BUILD)
  t.equal((await app.inject(BUILD)).headers['x-cache'], 'HIT')
  const refreshed = await app.inject({ url: BUILD, headers: { 'cache-control': 'no-cache' } })
  t.equal(refreshed.headers['x-cache'], 'MISS', 'no-cache refreshes')
  t.equal(upstreamCalls(), 2)
  now += 61_000
  const stale = await app.inject(BUILD)
  t.equal(stale.headers['x-cache'], 'STALE', 'an expired entry is answered stale while it refreshes')
  for (let i = 0; i < 20 && upstreamCalls() < 3; i++) await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal(upstreamCalls(), 3)
  t.equal((await app.inject(BUILD)).headers['x-cache'], 'HIT', 'the refreshed entry')
  t.equal((await app.inject({ method: 'HEAD', url: BUILD })).statusCode, 200, 'HEAD')
})

t.test('the request line is written exactly as pino writes it: fields, order, and format', async (t) => {
  const gw = await simulatedGateway(t, { env: { GATEWAY_API_KEYS: `a=${KEYS.a}` } })
  await gw.app.inject(as(KEYS.a))
  await gw.app.inject(as(KEYS.a, `${BUILD}?x=%22"`))
  await gw.app.inject({ url: '/nowhere' })
  const written = gw.rawLogs.filter((line) => line.includes('"msg":"request"'))
  t.equal(written.length, 3)
  for (const line of written) {
    const { level, time, pid, hostname, msg, ...fields } = JSON.parse(line) as Record<string, unknown>
    const byPino: string[] = []
    pino({ level: 'info', base: { pid, hostname }, timestamp: () => `,"time":${String(time)}` }, { write: (text: string) => { byPino.push(text.trimEnd()) } }).info(fields, String(msg))
    t.equal(line, byPino[0], `${String(fields.url)}: as pino writes it`)
    t.equal(level, 30)
  }
  t.same(Object.keys(JSON.parse(written[0]) as object), ['level', 'time', 'pid', 'hostname', 'requestId', 'method', 'url', 'route', 'caller', 'account', 'statusCode', 'durationMs', 'cache', 'upstreamCalls', 'upstreamMs', 'msg'])
  t.notOk('route' in (JSON.parse(written[2]) as object) || 'caller' in (JSON.parse(written[2]) as object), 'an unmatched, refused request has no route nor caller')
})

t.test('once the upstream refuses a report (404), a remembered request answers as the full path does', async (t) => {
  const { app, apple } = await mockedGateway(t, { env: { GATEWAY_API_KEYS: `a=${KEYS.a},b=${KEYS.b}` } })
  const page = '/usage/apple/apps/6447306070/beta-testers?period=P365D&limit=5'
  apple.intercept({ path: '/v1/apps/6447306070/metrics/betaTesterUsages?period=P365D&limit=5&groupBy=betaTesters', method: 'GET' })
    .reply(200, fixture('apple-app-tester-usages-grouped') as object, { headers: JSON_HEADERS })
  apple.intercept({ path: (path) => path.includes('cursor='), method: 'GET' })
    .reply(404, { errors: [{ status: '404', code: 'NOT_FOUND', title: 'The specified resource does not exist', detail: 'gone' }] }, { headers: JSON_HEADERS })
  t.equal((await app.inject(as(KEYS.a, page))).statusCode, 200)
  t.equal((await app.inject(as(KEYS.a, page))).headers['x-cache'], 'HIT', 'remembered')
  t.equal((await app.inject(as(KEYS.a, `${page}&cursor=BQ.TGQPUQ`))).statusCode, 404, 'the next page is gone upstream')
  const [remembered, full] = [await app.inject(as(KEYS.a, page)), await app.inject(as(KEYS.b, page))]
  t.equal(full.statusCode, 404, 'the full path answers the remembered refusal')
  t.equal(remembered.statusCode, full.statusCode, 'and so does the remembered request')
})

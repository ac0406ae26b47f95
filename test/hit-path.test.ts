/**
 * The hit path's short cut (plugins/remembered-requests.ts): a request asked
 * again is answered in front of Fastify's request handling, from its fresh
 * cache entry. Whatever takes that path must look, to a caller and to the
 * logs, exactly like an answer from the full path. `inject` always takes the
 * full path, so these tests ask over HTTP, on keep-alive connections
 * (helpers.ts `overHttp`, which tells the two paths apart).
 */
import { pino } from 'pino'
import t from 'tap'
import { Client } from 'undici'
import { APPLE_APP, APPLE_BUILD, JSON_HEADERS, fixture, mockedGateway, overHttp, simulatedGateway } from './helpers.js'

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
  const { get } = await overHttp(t, app)
  for (const url of [BUILD, TESTERS]) {
    const miss = await get(as(KEYS.a, url))
    t.equal(miss.headers['x-cache'], 'MISS')
    // Caller a's repeat takes the short cut; caller b's first request the full path, from the same entry.
    const [short, full] = [await get(as(KEYS.a, url)), await get(as(KEYS.b, url))]
    t.equal(short.statusCode, 200)
    t.notOk(short.fullPath, `${url}: answered in front of Fastify`)
    t.ok(full.fullPath)
    t.equal(short.headers['x-cache'], 'HIT')
    t.same(shared(short.headers), shared(full.headers), `${url}: the same headers`)
    t.same(Object.keys(short.headers), Object.keys(full.headers), 'in the same order')
    t.equal(short.body, full.body)
    t.equal(short.body, miss.body)
    t.match(short.headers['x-request-id'], /^[0-9a-f-]{36}$/, 'a request id of its own')
    t.equal((await get(as(KEYS.a, url, { 'x-request-id': 'trace-42' }))).headers['x-request-id'], 'trace-42', "the caller's request id is kept")
    const [notModified, fullNotModified] = [await get(as(KEYS.a, url, { 'if-none-match': String(short.headers.etag) })), await get(as(KEYS.b, url, { 'if-none-match': `"other", ${String(short.headers.etag)}` }))]
    t.notOk(notModified.fullPath)
    t.equal(notModified.statusCode, 304, 'If-None-Match')
    t.equal(notModified.body, '')
    t.same(shared(notModified.headers), shared(fullNotModified.headers), 'a 304 with the same headers as the full path')
    const [csv, fullCsv] = [await get(as(KEYS.a, url, { accept: 'text/csv' })), await get(as(KEYS.c, url, { accept: 'text/csv' }))]
    t.notOk(csv.fullPath)
    t.match(csv.headers['content-type'], /^text\/csv/)
    t.equal(csv.body, fullCsv.body, 'CSV by Accept')
    t.same(shared(csv.headers), shared(fullCsv.headers))
    t.not(csv.headers.etag, short.headers.etag, 'with its own ETag')
  }
  const tester = await get(as(KEYS.a, TESTERS))
  t.match(tester.headers, { 'x-total-count': /^\d+$/, link: /rel="next"/ }, 'a paged report keeps Link and X-Total-Count')
  t.equal(sims.apple.calls.filter((call) => call.includes('/metrics/')).length, 2, 'one upstream call per report')
})

t.test('a remembered request still has its key checked and counted against the limit, and is logged and measured', async (t) => {
  const gw = await simulatedGateway(t, { env: { GATEWAY_API_KEYS: `a=${KEYS.a},b=${KEYS.b}`, GATEWAY_RATE_LIMIT_PER_MINUTE: '4' } })
  const { app } = gw
  const { get } = await overHttp(t, app)
  t.equal((await get(as(KEYS.a))).statusCode, 200)
  const second = await get(as(KEYS.a))
  t.notOk(second.fullPath)
  t.equal(second.headers['x-ratelimit-remaining'], '2')
  t.equal(second.headers['x-ratelimit-limit'], '4')
  t.match(second.headers['x-ratelimit-reset'], /^\d+$/)
  // On the connection that presented key a: a key one character off, and none.
  const wrong = await get({ url: BUILD, headers: { 'x-api-key': `${KEYS.a.slice(0, -1)}x` } })
  t.equal(wrong.statusCode, 401, 'a wrong key is refused')
  t.equal((await get({ url: BUILD, headers: {} })).statusCode, 401, 'no key is refused')
  const third = await get(as(KEYS.a, BUILD, { authorization: 'Bearer ignored' }))
  t.equal(third.statusCode, 200)
  t.equal(third.headers['x-ratelimit-remaining'], '1', 'the limit counts remembered requests')
  t.equal((await get(as(KEYS.a))).statusCode, 200)
  const over = await get(as(KEYS.a))
  t.equal(over.statusCode, 429, 'over the limit: the full path refuses it, counted once')
  t.equal(over.headers['x-ratelimit-remaining'], '0')
  t.match(over.headers['retry-after'], /^\d+$/)
  t.match(JSON.parse(over.body), { code: 'rate_limited', status: 429 })
  t.equal((await get(as(KEYS.b))).statusCode, 200, "another key's limit is its own")
  const lines = gw.logs.filter((line) => line.msg === 'request')
  t.equal(lines.length, 8, 'one line per request')
  t.match(lines[1], { requestId: second.headers['x-request-id'], method: 'GET', url: BUILD, route: '/usage/apple/builds/:buildId', caller: 'a', account: 'default', statusCode: 200, cache: 'HIT', upstreamCalls: 0, upstreamMs: 0 })
  t.type(lines[1].durationMs, 'number')
  t.match(lines[6], { caller: 'a', statusCode: 429 })
  const metrics = (await app.inject('/metrics')).body
  t.match(metrics, /gateway_cache_results_total\{result="HIT"\} 4/, 'the cache counter counts short-cut hits')
  t.match(metrics, /gateway_http_request_duration_seconds_count\{route="\/usage\/apple\/builds\/:buildId",method="GET",status="200"\} 5/, 'and so does the histogram')
})

t.test('what the short cut does not answer takes the full path: stale, no-cache, HEAD, a body, a pending failed check', async (t) => {
  let now = Date.parse('2026-11-30T12:00:00Z')
  const { app, sims } = await simulatedGateway(t, { now: () => now, env: { GATEWAY_API_KEYS: `a=${KEYS.a}`, CACHE_TTL_SECONDS: '60', CACHE_REFRESH_FLOOR_SECONDS: '0' } })
  const { get, address } = await overHttp(t, app)
  const upstreamCalls = (): number => sims.apple.calls.filter((call) => call.includes('/metrics/')).length
  await get(as(KEYS.a))
  t.notOk((await get(as(KEYS.a))).fullPath, 'remembered')
  const refreshed = await get(as(KEYS.a, BUILD, { 'cache-control': 'no-cache' }))
  t.ok(refreshed.fullPath)
  t.equal(refreshed.headers['x-cache'], 'MISS', 'no-cache refreshes')
  const pragma = await get(as(KEYS.a, BUILD, { pragma: 'no-cache' }))
  t.ok(pragma.fullPath)
  t.equal(pragma.headers['x-cache'], 'MISS', 'Pragma: no-cache too')
  t.equal(upstreamCalls(), 3)
  now += 61_000
  const stale = await get(as(KEYS.a))
  t.ok(stale.fullPath)
  t.equal(stale.headers['x-cache'], 'STALE', 'an expired entry is answered stale while it refreshes')
  for (let i = 0; i < 20 && upstreamCalls() < 4; i++) await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal(upstreamCalls(), 4)
  t.equal((await get(as(KEYS.a))).headers['x-cache'], 'HIT', 'the refreshed entry')
  const head = await fetch(address + BUILD, { method: 'HEAD', headers: { 'x-api-key': KEYS.a } })
  t.equal(head.status, 200, 'HEAD')
  const client = new Client(address)
  t.teardown(async () => { await client.close() })
  const withBody = await client.request({ method: 'GET', path: BUILD, headers: { 'x-api-key': KEYS.a }, body: 'xx' })
  t.equal(withBody.statusCode, 400, 'a GET with a body is refused, as on the full path')
  t.equal((await withBody.body.json() as { code: string }).code, 'body_not_allowed')
  t.notOk((await get(as(KEYS.a))).fullPath, 'remembered again')
  t.equal((await get({ url: BUILD, headers: { 'x-api-key': 'not-a-key-0123456789' } })).statusCode, 401)
  const afterFailure = await get(as(KEYS.a))
  t.equal(afterFailure.statusCode, 200, 'a valid key still passes while a failed check is pending')
  t.ok(afterFailure.fullPath, 'through the full check, which knows the client address')
  now += 86_400_000
  t.ok((await get(as(KEYS.a))).fullPath, 'another day: the date checks run again')
})

t.test('many connections at once: every remembered request gets its own answer, whole', async (t) => {
  const { app } = await simulatedGateway(t, { env: { GATEWAY_API_KEYS: `a=${KEYS.a}` } })
  const { address } = await overHttp(t, app)
  const urls = [BUILD, TESTERS]
  const clients = Array.from({ length: 40 }, () => new Client(address))
  t.teardown(async () => { await Promise.all(clients.map(async (client) => { await client.close() })) })
  const ask = async (client: Client, url: string, id: string): Promise<{ url: string, id: string, status: number, requestId: unknown, body: string }> => {
    const res = await client.request({ method: 'GET', path: url, headers: { 'x-api-key': KEYS.a, 'x-request-id': id } })
    return { url, id, status: res.statusCode, requestId: res.headers['x-request-id'], body: await res.body.text() }
  }
  const bodies = new Map<string, string>()
  for (const url of urls) bodies.set(url, (await ask(clients[0], url, 'warm')).body)
  // Three rounds of 40 requests at once, more than are ended together: each answer is its own request's.
  for (let round = 0; round < 3; round++) {
    const answers = await Promise.all(clients.map(async (client, index) => await ask(client, urls[index % 2], `r${round}-c${index}`)))
    t.ok(answers.every((answer) => answer.status === 200 && answer.requestId === answer.id && answer.body === bodies.get(answer.url)), `round ${round}`)
  }
})

t.test('once shutdown begins, a remembered request is answered by the full path, which closes its connection', async (t) => {
  const gw = await simulatedGateway(t, { env: { GATEWAY_API_KEYS: `a=${KEYS.a}` } })
  const { app } = gw
  const { get } = await overHttp(t, app)
  await get(as(KEYS.a))
  t.notOk((await get(as(KEYS.a))).fullPath)
  app.shutdown.draining = true
  const draining = await get(as(KEYS.a))
  t.ok(draining.fullPath, 'draining: the full path answers')
  t.equal(draining.headers.connection, 'close', 'and closes the connection')
  app.shutdown.draining = false
  t.notOk((await get(as(KEYS.a))).fullPath)
})

t.test('the request line is written exactly as pino writes it: fields, order, and format', async (t) => {
  const gw = await simulatedGateway(t, { env: { GATEWAY_API_KEYS: `a=${KEYS.a}` } })
  await gw.app.inject(as(KEYS.a))
  await gw.app.inject(as(KEYS.a, `${BUILD}?x=%22"`))
  await gw.app.inject({ url: '/nowhere' })
  // Over HTTP: a refused request, then one answered in front of Fastify, with the caller's own request id.
  const { get } = await overHttp(t, gw.app)
  t.equal((await get(as(KEYS.a, `${TESTERS}&limit=%22%5C`))).statusCode, 400)
  await get(as(KEYS.a, TESTERS))
  t.notOk((await get(as(KEYS.a, TESTERS, { 'x-request-id': 'trace:1.2-3_4' }))).fullPath)
  const written = gw.rawLogs.filter((line) => line.includes('"msg":"request"'))
  t.equal(written.length, 6)
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
  const { get } = await overHttp(t, app)
  const page = '/usage/apple/apps/6447306070/beta-testers?period=P365D&limit=5'
  apple.intercept({ path: '/v1/apps/6447306070/metrics/betaTesterUsages?period=P365D&limit=5&groupBy=betaTesters', method: 'GET' })
    .reply(200, fixture('apple-app-tester-usages-grouped') as object, { headers: JSON_HEADERS })
  apple.intercept({ path: (path) => path.includes('cursor='), method: 'GET' })
    .reply(404, { errors: [{ status: '404', code: 'NOT_FOUND', title: 'The specified resource does not exist', detail: 'gone' }] }, { headers: JSON_HEADERS })
  t.equal((await get(as(KEYS.a, page))).statusCode, 200)
  const remembered = await get(as(KEYS.a, page))
  t.equal(remembered.headers['x-cache'], 'HIT')
  t.notOk(remembered.fullPath, 'remembered')
  t.equal((await get(as(KEYS.a, `${page}&cursor=BQ.TGQPUQ`))).statusCode, 404, 'the next page is gone upstream')
  const [again, full] = [await get(as(KEYS.a, page)), await get(as(KEYS.b, page))]
  t.equal(full.statusCode, 404, 'the full path answers the remembered refusal')
  t.equal(again.statusCode, full.statusCode, 'and so does the remembered request')
  t.ok(again.fullPath)
})

/**
 * Issue 8, the upstream half: errors shared by coalesced callers (M1), 404s
 * remembered by what was refused (M2), the bounded queue in front of Apple
 * (M4) and its budget counted when queued, partner token fetches (M5),
 * Retry-After capped, recent empty days re-checked, reports too large to
 * cache, totals that would overflow, failed key checks limited per address.
 */
import t, { type Test } from 'tap'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { gupshup } from '../providers/gupshup/index.js'
import { loadConfig } from '../providers/index.js'
import { UpstreamBusyError } from '../src/errors.js'
import { CallQueue } from '../src/upstream/call-queue.js'
import { EMPTY_DAY_TTL_MS } from '../src/usage-service.js'
import { GUPSHUP_APP, JSON_HEADERS, appleEnv, fixture, gateway, loopbackUpstream, mockedGateway } from './helpers.js'

const BUILD = '/usage/apple/builds/build-1'
type Handler = (request: IncomingMessage, response: ServerResponse) => void

const appleJson = (response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
  response.writeHead(status, { 'content-type': 'application/json', ...headers })
  response.end(typeof body === 'string' ? body : JSON.stringify(body))
}

async function appleGateway (t: Test, handler: Handler, env: Record<string, string> = {}): Promise<Awaited<ReturnType<typeof gateway>>> {
  const base = await loopbackUpstream(t, handler)
  return await gateway(t, { env: { ...await appleEnv(base), ...env } })
}

t.test('M1: every caller joined to a failed fetch gets that fetch\'s own error, never a 500', async (t) => {
  for (const [mode, status, code] of [['500', 502, 'upstream_error'], ['html', 502, 'upstream_invalid_response'], ['429', 429, 'upstream_rate_limited']] as const) {
    const { app, rawLogs } = await appleGateway(t, (request, response) => {
      if (mode === '500') appleJson(response, 500, { errors: [{ status: '500', title: 'down' }] })
      else if (mode === 'html') { response.writeHead(200, { 'content-type': 'text/html' }); response.end('<html>oops</html>') } else appleJson(response, 429, { errors: [] }, { 'retry-after': '7' })
    })
    const answers = await Promise.all(Array.from({ length: 5 }, async () => await app.inject(BUILD)))
    t.same(answers.map((res) => res.statusCode), [status, status, status, status, status], `Apple ${mode}: five ${status}s`)
    t.ok(answers.every((res) => res.json().code === code), code)
    if (status === 429) t.ok(answers.every((res) => Number(res.headers['retry-after']) === 7), 'each with Retry-After')
    t.notOk(rawLogs.some((line) => line.includes('"stack"') || line.includes('internal_error')), 'no stack trace, no internal error')
  }
})

t.test('M1: a hanging upstream is a 504 for every joined caller', async (t) => {
  const { app, rawLogs } = await appleGateway(t, () => { /* never answers */ }, { UPSTREAM_TIMEOUT_MS: '300' })
  const answers = await Promise.all(Array.from({ length: 50 }, async () => await app.inject(BUILD)))
  t.ok(answers.every((res) => res.statusCode === 504 && res.json().code === 'upstream_timeout'), 'fifty 504s')
  t.notOk(rawLogs.some((line) => line.includes('"stack"')))
})

t.test('M2: an upstream 404 is remembered for the report and query it refused, not the subject', async (t) => {
  const calls: string[] = []
  const { app } = await appleGateway(t, (request, response) => {
    const url = decodeURIComponent(request.url ?? '')
    calls.push(url)
    if (url.includes('filter[apps]=bad') || url.includes('publicLinkUsages')) return appleJson(response, 404, { errors: [{ status: '404', title: 'not found' }] })
    const body = url.includes('betaGroups') ? fixture('apple-app-tester-usages-grouped') : fixture('apple-app-tester-usages-filtered')
    appleJson(response, 200, body)
  })
  t.equal((await app.inject('/usage/apple/beta-testers/T1?appId=bad')).statusCode, 404)
  t.equal((await app.inject('/usage/apple/beta-testers/T1?appId=bad')).statusCode, 404)
  t.equal(calls.length, 1, 'the refused query is remembered')
  t.equal((await app.inject('/usage/apple/beta-testers/T1?appId=good')).statusCode, 200, 'another app for the same tester is asked')
  t.equal((await app.inject('/usage/apple/beta-groups/G1/public-link')).statusCode, 404)
  t.equal((await app.inject('/usage/apple/beta-groups/G1/beta-testers')).statusCode, 200, "a group's public link 404 is not its testers' 404")
})

t.test('M4: the queue in front of Apple is bounded: overflow is a 503 upstream_busy at once', async (t) => {
  const waiting: ServerResponse[] = []
  let calls = 0
  const { app } = await appleGateway(t, (_request, response) => { calls++; waiting.push(response) }, { APPLE_MAX_CONCURRENCY: '1', APPLE_MAX_PENDING: '2' })
  const answers = Array.from({ length: 6 }, async (_, index) => await app.inject(`/usage/apple/builds/build-${index}`))
  // The three over the bound are answered while the first call still hangs.
  const settled: Array<{ statusCode: number, code: string, retryAfter: unknown }> = []
  for (const answer of answers.slice(3)) answer.then((res) => settled.push({ statusCode: res.statusCode, code: res.json().code, retryAfter: res.headers['retry-after'] }), () => {})
  while (settled.length < 3) await sleep(5)
  t.same(settled.map((res) => [res.statusCode, res.code]), [[503, 'upstream_busy'], [503, 'upstream_busy'], [503, 'upstream_busy']])
  t.ok(settled.every((res) => Number(res.retryAfter) >= 1), 'with Retry-After')
  for (let answered = 0; answered < 3;) {
    const response = waiting.shift()
    if (response === undefined) { await sleep(5); continue }
    appleJson(response, 200, fixture('apple-build-usages'))
    answered++
  }
  t.same((await Promise.all(answers.slice(0, 3))).map((res) => res.statusCode), [200, 200, 200], 'the queued ones are answered')
  t.equal(calls, 3, 'the refused ones never reached Apple')
})

t.test('M4: a call that cannot start before its deadline fails fast rather than waiting out the timeout', async (t) => {
  let calls = 0
  const { app } = await appleGateway(t, (_request, response) => {
    calls++
    setTimeout(() => { appleJson(response, 200, fixture('apple-build-usages')) }, 250)
  }, { APPLE_MAX_CONCURRENCY: '1', UPSTREAM_TIMEOUT_MS: '400' })
  t.equal((await app.inject('/usage/apple/builds/warm')).statusCode, 200, 'one call teaches the pace')
  const answers = await Promise.all(['a', 'b', 'c', 'd'].map(async (id) => await app.inject(`/usage/apple/builds/${id}`)))
  const codes = answers.map((res) => res.statusCode === 200 ? 'ok' : res.json().code)
  t.equal(codes[0], 'ok')
  t.same(codes.slice(2), ['upstream_busy', 'upstream_busy'], 'two rounds behind cannot start in time: refused at once')
  t.ok(calls <= 3, 'the refused calls never reach Apple')
})

t.test('Low: Apple budget counts a call when it is queued, so a cold burst cannot run past the reserve', async (t) => {
  let remaining = 60
  const { app } = await appleGateway(t, (_request, response) => {
    remaining--
    setTimeout(() => { appleJson(response, 200, fixture('apple-build-usages'), { 'x-rate-limit': `user-hour-lim:3600;user-hour-rem:${remaining};` }) }, 20)
  }, { APPLE_QUOTA_RESERVE: '50' })
  t.equal((await app.inject('/usage/apple/builds/warm')).statusCode, 200)
  const answers = await Promise.all(Array.from({ length: 30 }, async (_, index) => await app.inject(`/usage/apple/builds/cold-${index}`)))
  t.equal(answers.filter((res) => res.statusCode === 200).length, 9, 'nine calls were left above the reserve')
  t.ok(answers.filter((res) => res.statusCode !== 200).every((res) => res.json().code === 'upstream_rate_limited'))
  t.equal(remaining, 50, 'the reserve held')
})

t.test('Low: an upstream Retry-After is honoured up to UPSTREAM_MAX_BACKOFF_SECONDS, HTTP dates too', async (t) => {
  for (const retryAfter of ['86400', 'Fri, 01 Jan 2100 00:00:00 GMT']) {
    const { app } = await appleGateway(t, (_request, response) => { appleJson(response, 429, { errors: [] }, { 'retry-after': retryAfter }) }, { UPSTREAM_MAX_BACKOFF_SECONDS: '120' })
    const first = await app.inject(BUILD)
    t.equal(first.statusCode, 429)
    t.equal(first.headers['retry-after'], '120', `Retry-After: ${retryAfter} is capped`)
    const next = await app.inject('/usage/apple/builds/other')
    t.ok(Number(next.headers['retry-after']) <= 120, 'and so is the back-off it starts')
  }
})

t.test('M5: partner sign-in: token fetches are budgeted and counted; an app the partner lacks is remembered', async (t) => {
  const simulator = await gupshup.simulator.start({})
  t.teardown(async () => { await simulator.close() })
  const config = loadConfig({
    LOG_LEVEL: 'info',
    GUPSHUP_BASE_URL: simulator.baseUrl,
    GUPSHUP_PARTNER_EMAIL: simulator.partner.email,
    GUPSHUP_PARTNER_SECRET: simulator.partner.secret
  })
  const gw = await gateway(t, { config })
  const tokenCalls = (): number => simulator.otherCalls.filter((path) => path.endsWith('/token/')).length
  const first = await gw.app.inject('/usage/gupshup/apps/made-up-0/wallet')
  t.equal(first.statusCode, 404)
  t.equal(first.json().code, 'unknown_app')
  t.equal(tokenCalls(), 1)
  t.equal((await gw.app.inject('/usage/gupshup/apps/made-up-0/wallet')).statusCode, 404)
  t.equal(tokenCalls(), 1, 'the unknown app is remembered: no second token fetch')
  const answers = []
  for (let i = 1; i < 30; i++) answers.push(await gw.app.inject(`/usage/gupshup/apps/made-up-${i}/wallet`))
  t.equal(tokenCalls(), 10, 'token fetches stay within the budget (10 a minute)')
  t.ok(answers.slice(9).every((res) => res.statusCode === 429), 'past it, a 429')
  const line = gw.logs.find((entry) => entry.url === '/usage/gupshup/apps/made-up-0/wallet')
  t.match(line, { upstreamCalls: 2 }, 'the log line counts the login and the token fetch')
  const metrics = (await gw.app.inject('/metrics')).body
  t.match(metrics, /gateway_upstream_request_duration_seconds_count\{provider="gupshup",account="default",report="appToken",status="400"\} 10/)
  t.match(metrics, /gateway_upstream_request_duration_seconds_count\{provider="gupshup",account="default",report="login",status="200"\} 1/)
})

t.test('Low: a recent day Gupshup reported empty is re-checked after an hour; an old one is not', async (t) => {
  let clock = Date.parse('2026-06-10T12:00:00Z')
  const { app, gupshup } = await mockedGateway(t, { now: () => clock })
  let calls = 0
  gupshup.intercept({ path: /usage\?/, method: 'GET' }).reply(200, () => { calls++; return { status: 'success', partnerAppUsageList: [] } }, { headers: JSON_HEADERS }).persist()
  const usage = (from: string, to: string): string => `/usage/gupshup/apps/${GUPSHUP_APP}?from=${from}&to=${to}`
  t.equal((await app.inject(usage('2026-06-05', '2026-06-07'))).statusCode, 200)
  t.equal((await app.inject(usage('2026-04-01', '2026-04-03'))).statusCode, 200)
  t.equal(calls, 2)
  clock += EMPTY_DAY_TTL_MS + 1000
  t.equal((await app.inject(usage('2026-04-01', '2026-04-03'))).headers['x-cache'], 'HIT', 'an old empty day is settled')
  const recent = await app.inject(usage('2026-06-05', '2026-06-07'))
  t.not(recent.headers['x-cache'], 'HIT', 'a recent empty day is looked at again')
})

t.test('Low: a report larger than the cache bound is refused as report_too_large, once, not refetched each time', async (t) => {
  let calls = 0
  const big = { data: Array.from({ length: 6000 }, (_, index) => ({ dataPoints: [{ start: '2024-01-01', end: '2024-01-07', values: { sessionCount: index, crashCount: 1, feedbackCount: 2 } }], dimensions: { betaTesters: { data: `tester-with-a-long-identifier-${index}` } } })), links: { self: 'x' }, meta: { paging: { total: 6000, limit: 200 } } }
  const { app } = await appleGateway(t, (_request, response) => { calls++; appleJson(response, 200, big) }, { CACHE_MAX_BYTES: '1MiB' })
  const res = await app.inject('/usage/apple/apps/app1/beta-testers')
  t.equal(res.statusCode, 502)
  t.equal(res.json().code, 'report_too_large')
  t.match(res.json().detail, /CACHE_MAX_BYTES/)
  t.equal((await app.inject('/usage/apple/apps/app1/beta-testers')).json().code, 'report_too_large')
  t.equal(calls, 1, 'remembered, not refetched')
})

t.test('Low: figures whose total would overflow are a clear error, never a null total', async (t) => {
  const huge = { data: [{ dataPoints: [{ start: '2024-01-01', end: '2024-01-07', values: { installCount: 1e308 } }, { start: '2024-01-08', end: '2024-01-14', values: { installCount: 1e308 } }] }], links: { self: 'x' } }
  const { app } = await appleGateway(t, (_request, response) => { appleJson(response, 200, huge) })
  const res = await app.inject(BUILD)
  t.equal(res.statusCode, 502)
  t.equal(res.json().code, 'upstream_invalid_response')
  const { app: infinite } = await appleGateway(t, (_request, response) => { appleJson(response, 200, JSON.stringify(huge).replace('1e+308', '1e309')) })
  t.equal((await infinite.inject(BUILD)).json().code, 'upstream_invalid_response', 'nor a null figure')
})

t.test('Low: failed key checks are limited per client address, and counted', async (t) => {
  const { app } = await appleGateway(t, (_request, response) => { appleJson(response, 200, fixture('apple-build-usages')) }, { GATEWAY_API_KEYS: 'ops=ops-key-0123456789abcdef' })
  const guess = async (ip: string, key: string): Promise<number> => (await app.inject({ url: BUILD, remoteAddress: ip, headers: { 'x-api-key': key } })).statusCode
  const statuses = []
  for (let i = 0; i < 12; i++) statuses.push(await guess('10.0.0.5', `guess-${i}-0123456789abcdef`))
  t.same(statuses, [...Array(10).fill(401), 429, 429])
  const throttled = await app.inject({ url: BUILD, remoteAddress: '10.0.0.5', headers: { 'x-api-key': 'ops-key-0123456789abcdef' } })
  t.equal(throttled.json().code, 'auth_throttled', 'even the right key waits out the minute')
  t.ok(Number(throttled.headers['retry-after']) >= 1)
  t.equal(await guess('10.0.0.6', 'ops-key-0123456789abcdef'), 200, 'other addresses are not affected')
  const metrics = (await app.inject('/metrics')).body
  t.match(metrics, /gateway_auth_failures_total\{outcome="unauthorized"\} 10/)
  t.match(metrics, /gateway_auth_failures_total\{outcome="throttled"\} 3/)
})

t.test('M4: a call still waiting for a connection when its deadline passes is refused, and leaves the queue', async (t) => {
  const queue = new CallQueue({ provider: 'apple', concurrency: 1, maxPending: 5 })
  const release = await queue.acquire(new AbortController().signal, 1000)
  const expired = new AbortController()
  const waiting = queue.acquire(expired.signal, 1000)
  expired.abort()
  await t.rejects(waiting, UpstreamBusyError)
  await t.rejects(queue.acquire(expired.signal, 1000), UpstreamBusyError, 'an expired deadline does not queue')
  const next = queue.acquire(new AbortController().signal, 1000)
  release()
  release()
  t.type(await next, 'function', 'the next waiter starts (a second release is a no-op)')
})

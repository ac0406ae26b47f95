import t from 'tap'
import { ReportCache } from '../src/cache/report-cache.js'
import { APPLE_BUILD, GUPSHUP_APP, JSON_HEADERS, fixture, mockedGateway, simulatedGateway } from './helpers.js'

const metric = (text: string, name: string, labels: string): number => {
  const line = text.split('\n').find((row) => row.startsWith(`${name}{`) && labels.split(',').every((label) => row.includes(label)))
  return line === undefined ? 0 : Number(line.split(' ').at(-1))
}

t.test('/metrics shows requests, cache results and upstream calls moving', async (t) => {
  const { app } = await simulatedGateway(t)
  await app.inject(`/usage/apple/builds/${APPLE_BUILD}`)
  await app.inject(`/usage/apple/builds/${APPLE_BUILD}`)
  await app.inject('/usage/apple/builds/nope')
  const res = await app.inject('/metrics')
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  const text = res.body
  t.equal(metric(text, 'gateway_http_request_duration_seconds_count', 'route="/usage/apple/builds/:buildId",status="200"'), 2)
  t.equal(metric(text, 'gateway_http_request_duration_seconds_count', 'route="/usage/apple/builds/:buildId",status="404"'), 1)
  const built = 'route="/usage/apple/builds/:buildId",status="200"'
  t.equal(metric(text, 'gateway_http_request_duration_seconds_bucket', `le="+Inf",${built}`), 2, 'every answer in the +Inf bucket')
  t.equal(metric(text, 'gateway_http_request_duration_seconds_bucket', `le="10",${built}`), 2, 'and in the buckets above its time')
  t.ok(metric(text, 'gateway_http_request_duration_seconds_sum', built) > 0, 'their time summed')
  t.ok(metric(text, 'gateway_http_request_duration_seconds_bucket', `le="0.001",${built}`) <= metric(text, 'gateway_http_request_duration_seconds_bucket', `le="0.005",${built}`), 'cumulative')
  t.equal(metric(text, 'gateway_cache_results_total', 'result="MISS"'), 1)
  t.equal(metric(text, 'gateway_cache_results_total', 'result="HIT"'), 1)
  t.equal(metric(text, 'gateway_upstream_request_duration_seconds_count', 'provider="apple",account="default",report="betaBuildUsages",status="200"'), 1)
  t.equal(metric(text, 'gateway_upstream_request_duration_seconds_count', 'provider="apple",account="default",report="betaBuildUsages",status="404"'), 1)
  t.ok(metric(text, 'gateway_cache_bytes', 'cache="reports"') > 0)
  t.equal(metric(text, 'gateway_cache_entries', 'cache="reports"'), 1)
  t.equal(metric(text, 'gateway_apple_quota_remaining', 'figure="user-hour-rem"'), 3598, "Apple's last user-hour-rem")
  t.match(text, /^process_cpu_user_seconds_total /m, 'Node process metrics')
})

t.test('/metrics counts budget refusals and upstream 429s', async (t) => {
  const { app, gupshup } = await mockedGateway(t, { env: { GUPSHUP_RATE_LIMIT_PER_MINUTE: '1' } })
  gupshup.intercept({ path: /usage/, method: 'GET' }).reply(200, fixture('gupshup-usage') as object, { headers: JSON_HEADERS })
  await app.inject(`/usage/gupshup/apps/${GUPSHUP_APP}?from=2024-01-01&to=2024-01-05`)
  t.equal((await app.inject(`/usage/gupshup/apps/${GUPSHUP_APP}?from=2023-01-01&to=2023-01-05`)).statusCode, 429)
  const text = (await app.inject('/metrics')).body
  t.equal(metric(text, 'gateway_upstream_refusals_total', 'provider="gupshup",account="default",reason="budget"'), 1)
  t.equal(metric(text, 'gateway_upstream_request_duration_seconds_count', 'provider="gupshup",account="default",report="dailyUsage",status="200"'), 1)
})

t.test('evictions are counted when the bound forces them out', async (t) => {
  let evicted = 0
  const cache = new ReportCache({ maxBytes: 4000, maxStaleMs: 0, onEvict: () => { evicted++ } })
  for (let i = 0; i < 6; i++) await cache.fetch(`k${i}`, 60_000, async () => 'x'.repeat(1000))
  t.ok(evicted >= 3, `${evicted} evicted`)
  t.ok(cache.bytes <= 4000)
})

t.test('/ready says ready; /metrics, /ready and /health need no API key', async (t) => {
  const { app } = await simulatedGateway(t, { env: { GATEWAY_API_KEYS: 'operator-key-0123456789' } })
  t.same((await app.inject('/ready')).json(), { status: 'ready' })
  t.equal((await app.inject('/metrics')).statusCode, 200)
  t.equal((await app.inject('/health')).statusCode, 200)
})

t.test('behind an API gateway: TRUST_PROXY keys the inbound limit by X-Forwarded-For; PUBLIC_BASE_URL names the spec server and paging.next', async (t) => {
  const { app } = await simulatedGateway(t, { env: { TRUST_PROXY: 'true', GATEWAY_RATE_LIMIT_PER_MINUTE: '1', PUBLIC_BASE_URL: 'https://api.example.com/usage-gateway/' } })
  const from = (ip: string) => ({ url: `/usage/apple/builds/${APPLE_BUILD}`, remoteAddress: '10.0.0.9', headers: { 'x-forwarded-for': ip } })
  t.equal((await app.inject(from('203.0.113.1'))).statusCode, 200)
  t.equal((await app.inject(from('203.0.113.2'))).statusCode, 200, 'another client behind the same proxy')
  t.equal((await app.inject(from('203.0.113.1'))).statusCode, 429)
  const spec = (await app.inject('/openapi.json')).json()
  t.same(spec.servers, [{ url: 'https://api.example.com/usage-gateway' }])
  const page = (await app.inject({ url: '/usage/apple/apps/6447306070/beta-testers?limit=10', headers: { 'x-forwarded-for': '203.0.113.3' } })).json()
  t.match(page.paging.next, /^https:\/\/api\.example\.com\/usage-gateway\/usage\/apple\/apps\/6447306070\/beta-testers\?cursor=/)
  const all = await app.inject({ url: '/usage/apple/apps/6448250830/beta-testers?limit=5&all=true', headers: { 'x-forwarded-for': '203.0.113.4' } })
  t.equal(all.json().data.length, 12, 'all=true follows absolute next links too')
})

t.test('ROUTE_PREFIX serves every route under a path, for a front that forwards paths as they are', async (t) => {
  const { app } = await simulatedGateway(t, { env: { ROUTE_PREFIX: '/gw' } })
  t.equal((await app.inject('/gw/health')).statusCode, 200)
  t.equal((await app.inject('/health')).statusCode, 404)
  t.equal((await app.inject(`/gw/usage/apple/builds/${APPLE_BUILD}`)).statusCode, 200)
  t.equal((await app.inject('/gw/docs/')).statusCode, 200)
  const page = (await app.inject('/gw/usage/apple/apps/6447306070/beta-testers?limit=10')).json()
  t.match(page.paging.next, /^\/gw\/usage\/apple\/apps\/6447306070\/beta-testers\?cursor=/)
  t.equal((await app.inject(page.paging.next)).statusCode, 200, 'paging.next works as given')
  const spec = (await app.inject('/gw/openapi.json')).json()
  t.ok(spec.paths['/gw/usage/apple/builds/{buildId}'])
  const catalog = (await app.inject('/gw/usage')).json()
  t.equal(catalog.providers[0].reports[0].route, '/gw/usage/apple/builds/{buildId}')
})

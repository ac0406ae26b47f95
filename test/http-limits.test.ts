/**
 * Reply headers and socket limits a caller meets over a real socket: paging
 * links, the header and keep-alive timeouts, /metrics protection, and the
 * docs' static files refusing a path outside their folder.
 */
import { connect, type Socket } from 'node:net'
import { once } from 'node:events'
import t from 'tap'
import { request } from 'undici'
import { loadConfig } from '../providers/index.js'
import { APPLE_BUILD, simulatedGateway } from './helpers.js'
import { deadlineAfter } from '../src/upstream/http.js'

const GROUP = 'a1b2c3d4-0000-4000-8000-000000000001'

/** Resolves with everything the server sent once it closes the socket. */
async function untilClosed (socket: Socket): Promise<string> {
  let received = ''
  socket.on('data', (chunk: Buffer) => { received += chunk.toString() })
  await once(socket, 'close')
  return received
}

t.test('a paged answer says where the next page is (Link rel="next") and how many rows there are, as JSON and CSV', async (t) => {
  const { app } = await simulatedGateway(t, { env: { PUBLIC_BASE_URL: 'https://api.example.com/gw' } })
  const res = await app.inject(`/usage/apple/beta-groups/${GROUP}/beta-testers?limit=100&period=P30D`)
  const next = res.json().paging.next as string
  t.match(next, /^https:\/\/api\.example\.com\/gw\/usage\//)
  t.equal(res.headers.link, `<${next}>; rel="next"`)
  t.equal(res.headers['x-total-count'], '240')
  const csv = await app.inject({ url: `/usage/apple/beta-groups/${GROUP}/beta-testers?limit=100&period=P30D`, headers: { accept: 'text/csv' } })
  t.equal(csv.headers['x-cache'], 'HIT')
  t.equal(csv.headers.link, `<${next}>; rel="next"`)
  t.equal(csv.headers['x-total-count'], '240')
  const last = await app.inject(next.replace('https://api.example.com/gw', '').replace('limit=100', 'limit=200'))
  t.equal(last.statusCode, 200)
  t.equal(last.headers.link, undefined, 'the last page has no next link')
  t.equal(last.headers['x-total-count'], '240')
})

t.test('a socket that sends no complete headers is closed after HEADERS_TIMEOUT_MS with a 408', async (t) => {
  const { app } = await simulatedGateway(t, { env: { HEADERS_TIMEOUT_MS: '500' } })
  // Node's default is 60 s for headers, and sockets that never send any were held until then.
  const address = await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = new URL(address)
  const idle = connect(Number(port), '127.0.0.1')
  const partial = connect(Number(port), '127.0.0.1')
  partial.write('GET /health HTTP/1.1\r\nHost: x\r\n')
  const [fromIdle, fromPartial] = await Promise.all([untilClosed(idle), untilClosed(partial)])
  t.match(fromIdle, /^(HTTP\/1\.1 408 .*)?$/s, 'an idle socket is closed too')
  t.match(fromPartial, /^HTTP\/1\.1 408 /)
  t.equal((await request(`${address}/health`)).statusCode, 200, 'the server still answers')
})

t.test('an idle keep-alive socket is closed after KEEP_ALIVE_TIMEOUT_MS, and the answer says how long it is kept', async (t) => {
  const { app } = await simulatedGateway(t, { env: { KEEP_ALIVE_TIMEOUT_MS: '300' } })
  const address = await app.listen({ host: '127.0.0.1', port: 0 })
  const socket = connect(Number(new URL(address).port), '127.0.0.1')
  const closed = untilClosed(socket)
  socket.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n')
  const received = await closed
  t.match(received, /^HTTP\/1\.1 200 /)
  t.match(received, /keep-alive: timeout=0/i, 'the client is told (Node rounds down to whole seconds)')
})

t.test('/metrics with METRICS_API_KEY: 401 problem without the bearer key, the metrics with it', async (t) => {
  const key = 'metrics-key-0123456789'
  const { app } = await simulatedGateway(t, { env: { METRICS_API_KEY: key } })
  const without = await app.inject('/metrics')
  t.equal(without.statusCode, 401)
  t.match(without.headers['content-type'], /^application\/problem\+json/)
  t.notMatch(without.body, /gateway_/)
  t.equal((await app.inject({ url: '/metrics', headers: { authorization: 'Bearer wrong-key-0123456789' } })).statusCode, 401)
  const scraped = await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${key}` } })
  t.equal(scraped.statusCode, 200)
  t.match(scraped.body, /gateway_http_request_duration_seconds/)
})

t.test('with METRICS_PORT, the main port has no /metrics', async (t) => {
  const { app } = await simulatedGateway(t, { env: { METRICS_PORT: '0' } })
  t.equal((await app.inject('/metrics')).statusCode, 404)
  t.equal((await app.inject(`/usage/apple/builds/${APPLE_BUILD}`)).statusCode, 200)
})

t.test('a docs path climbing out of the static folder is a 404 problem, not a 500', async (t) => {
  const { app, logs } = await simulatedGateway(t)
  for (const path of ['/docs/static/%2e%2e/%2e%2e/etc/passwd', '/docs/static/..%2f..%2fetc%2fpasswd']) {
    const res = await app.inject(path)
    t.equal(res.statusCode, 404, path)
    t.match(res.headers['content-type'], /^application\/problem\+json/)
    t.equal(res.json().code, 'not_found')
  }
  t.notOk(logs.some((line) => line.level === 50), 'no error logged')
})

t.test('socket and shutdown settings: defaults, the grace raised to the upstream timeout, a short metrics key refused', async (t) => {
  t.same(loadConfig({}).server, { headersTimeoutMs: 10_000, keepAliveTimeoutMs: 5_000, maxConnections: 900, shutdownDrainMs: 5_000, shutdownGraceMs: 11_000 })
  t.equal(loadConfig({ UPSTREAM_TIMEOUT_MS: '30000', SHUTDOWN_GRACE_MS: '5000' }).server.shutdownGraceMs, 31_000, 'in-flight calls may take the whole upstream timeout')
  t.equal(loadConfig({ SHUTDOWN_GRACE_MS: '60000' }).server.shutdownGraceMs, 60_000)
  t.throws(() => loadConfig({ METRICS_API_KEY: 'short' }), /METRICS_API_KEY must be at least 16 characters/)
  t.throws(() => loadConfig({ MAX_CONNECTIONS: '0' }), /MAX_CONNECTIONS must be a whole number/)
  t.same(loadConfig({ METRICS_PORT: '9464' }).metrics, { apiKey: undefined, port: 9464 })
})

t.test('an upstream deadline aborts when its time is up, and never once cleared (the call over)', async (t) => {
  const running = deadlineAfter(20)
  const cleared = deadlineAfter(20)
  cleared.clear()
  await new Promise((resolve) => setTimeout(resolve, 60))
  t.equal(running.signal.aborted, true)
  t.equal((running.signal.reason as DOMException).name, 'TimeoutError', 'as AbortSignal.timeout says it')
  t.equal(cleared.signal.aborted, false)
})

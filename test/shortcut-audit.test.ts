import { spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { connect, createServer, type Socket } from 'node:net'
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { Client } from 'undici'
import { loadConfig } from '../providers/index.js'
import { APPLE_BUILD, freePort, gateway, overHttp, simulatedConfig, simulatedGateway, startRedis, startSims, stopRedis } from './helpers.js'

const BUILD = `/usage/apple/builds/${APPLE_BUILD}`
const KEYS = { a: 'caller-a-0123456789', b: 'caller-b-0123456789', c: 'caller-c-0123456789' }
const as = (key: string, url = BUILD, headers: Record<string, string> = {}): { url: string, headers: Record<string, string> } => ({ url, headers: { 'x-api-key': key, ...headers } })

t.test('URLs padded with empty query parameters answer from one entry, but are not each remembered', async (t) => {
  const { app } = await simulatedGateway(t, { env: { GATEWAY_API_KEYS: `a=${KEYS.a}` } })
  const { get } = await overHttp(t, app)
  const first = await get(as(KEYS.a))
  // Each a distinct URL up to Node's 16 KiB header limit: remembering each would keep 10 KiB or more apiece.
  for (const padding of [3000, 3001, 14000]) {
    const padded = `${BUILD}?${'&'.repeat(padding)}`
    t.equal((await get(as(KEYS.a, padded))).body, first.body, `${padding} empty parameters: the same report`)
    const again = await get(as(KEYS.a, padded))
    t.equal(again.body, first.body)
    t.ok(again.fullPath, 'asked again, it takes the full path: not remembered')
  }
  await get(as(KEYS.a, `${BUILD}?&`))
  t.notOk((await get(as(KEYS.a, `${BUILD}?&`))).fullPath, 'a URL of a usual length is remembered')
})

t.test('who is checked: X-API-Key before Authorization, as the full path; no short cut with GATEWAY_AUTH=none', async (t) => {
  const { app } = await simulatedGateway(t, { env: { GATEWAY_API_KEYS: `a=${KEYS.a}` } })
  const { get } = await overHttp(t, app)
  await get(as(KEYS.a))
  const both = await get(as(KEYS.a, BUILD, { authorization: 'Bearer not-a-key-0123456789' }))
  t.equal(both.statusCode, 200)
  t.notOk(both.fullPath, 'X-API-Key is the key checked')
  t.equal((await get({ url: BUILD, headers: { 'x-api-key': 'not-a-key-0123456789', authorization: `Bearer ${KEYS.a}` } })).statusCode, 401, 'a wrong X-API-Key is refused, even beside a valid bearer')
  const open = await simulatedGateway(t, { env: { GATEWAY_AUTH: 'none' } })
  const onOpen = await overHttp(t, open.app)
  await onOpen.get(as(KEYS.a))
  const again = await onOpen.get(as(KEYS.a))
  t.equal(again.statusCode, 200)
  t.ok(again.fullPath, 'no verified caller (a key sent is not looked at), nothing remembered: each request is limited by its address')
})

t.test('pipelined on one connection, short cut and full path mixed: each answer in turn, whole; a client gone first harms none', async (t) => {
  const gw = await simulatedGateway(t, { env: { GATEWAY_API_KEYS: `a=${KEYS.a}` } })
  const { get, address } = await overHttp(t, gw.app)
  const first = await get(as(KEYS.a))
  const client = new Client(address, { pipelining: 8 })
  t.teardown(async () => { await client.close() })
  const asked: Array<{ path: string, headers: Record<string, string>, status: number }> = [
    { path: BUILD, headers: { 'x-api-key': KEYS.a }, status: 200 },
    // A miss (an upstream call) between remembered requests: the answers after it wait for it.
    { path: '/usage/apple/apps/6447306070/beta-testers?limit=3&period=P30D', headers: { 'x-api-key': KEYS.a }, status: 200 },
    { path: BUILD, headers: { 'x-api-key': KEYS.a }, status: 200 },
    { path: BUILD, headers: { 'x-api-key': 'not-a-key-0123456789' }, status: 401 },
    { path: BUILD, headers: { 'x-api-key': KEYS.a, 'if-none-match': String(first.headers.etag) }, status: 304 },
    { path: BUILD, headers: { 'x-api-key': KEYS.a, accept: 'text/csv' }, status: 200 },
    { path: BUILD, headers: { 'x-api-key': KEYS.a }, status: 200 }
  ]
  const answers = await Promise.all(asked.map(async ({ path, headers }, index) => {
    const res = await client.request({ method: 'GET', path, headers: { ...headers, 'x-request-id': `p${index}` } })
    return { status: res.statusCode, id: res.headers['x-request-id'], type: res.headers['content-type'], body: await res.body.text() }
  }))
  t.same(answers.map((answer) => answer.status), asked.map((ask) => ask.status), 'each status its own request\'s')
  t.same(answers.map((answer) => answer.id), asked.map((_, index) => `p${index}`), 'in turn')
  t.ok([0, 2, 6].every((index) => answers[index].body === first.body), 'whole bodies')
  t.match(answers[5].type, /^text\/csv/)
  // A client that sends a remembered request and goes at once.
  const socket = connect(new URL(address).port as unknown as number, '127.0.0.1')
  await once(socket, 'connect')
  socket.end(`GET ${BUILD} HTTP/1.1\r\nHost: x\r\nX-API-Key: ${KEYS.a}\r\nX-Request-Id: gone\r\n\r\n`)
  socket.destroy()
  await once(socket, 'close')
  for (let i = 0; i < 40 && !gw.logs.some((line) => line.requestId === 'gone'); i++) await new Promise((resolve) => setTimeout(resolve, 25))
  t.ok(gw.logs.some((line) => line.requestId === 'gone'), 'it is logged')
  const after = await get(as(KEYS.a))
  t.equal(after.statusCode, 200, 'the gateway answers on')
  t.equal(after.body, first.body)
})

const hasRedis = spawnSync('redis-server', ['--version']).status === 0

/**
 * A loopback TCP relay in front of redis-server that can hold what the gateway sends: the test knows a count is
 * under way (its command is held) without timing anything.
 */
async function heldRelay (t: Test, redisPort: number): Promise<{ port: number, hold: () => void, release: () => void, held: (count: number) => Promise<void>, cut: () => void }> {
  let holding = false
  const queue: Array<() => void> = []
  const waiters: Array<{ count: number, resolve: () => void }> = []
  const sockets = new Set<Socket>()
  const notify = (): void => {
    for (const waiter of [...waiters]) {
      if (queue.length >= waiter.count) {
        waiters.splice(waiters.indexOf(waiter), 1)
        waiter.resolve()
      }
    }
  }
  const server = createServer((client) => {
    const upstream = connect(redisPort, '127.0.0.1')
    sockets.add(client).add(upstream)
    upstream.pipe(client)
    client.on('data', (chunk) => {
      if (!holding) upstream.write(chunk)
      else {
        queue.push(() => upstream.write(chunk))
        notify()
      }
    })
    client.on('error', () => {})
    upstream.on('error', () => {})
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const cut = (): void => {
    server.close()
    for (const socket of sockets) socket.destroy()
  }
  t.teardown(cut)
  return {
    port: (server.address() as { port: number }).port,
    hold: () => { holding = true },
    release: () => {
      holding = false
      for (const send of queue.splice(0)) send()
    },
    held: async (count) => { await new Promise<void>((resolve) => { waiters.push({ count, resolve }); notify() }) },
    cut
  }
}

t.test('with the Redis store (an answer that waits for its count)', { skip: hasRedis ? false : 'redis-server is not installed' }, async (t) => {
  const redisPort = await freePort()
  const redis = await startRedis(redisPort)
  t.teardown(async () => { await stopRedis(redis) })
  const sims = await startSims(t)
  /** A gateway with these keys whose Redis connection goes through a relay the test can hold or cut, asked over HTTP. */
  const behindRelay = async (t: Test, keys: string): Promise<{ relay: Awaited<ReturnType<typeof heldRelay>>, app: FastifyInstance, get: Awaited<ReturnType<typeof overHttp>>['get'] }> => {
    const relay = await heldRelay(t, redisPort)
    const config = simulatedConfig(loadConfig({ LOG_LEVEL: 'silent', REDIS_URL: `redis://127.0.0.1:${relay.port}`, GATEWAY_API_KEYS: keys }), sims)
    const { app } = await gateway(t, { config })
    return { relay, app, get: (await overHttp(t, app)).get }
  }

  t.test('shutdown that begins while a count is under way: the answer closes its connection, as the full path does', async (t) => {
    const { relay, app, get } = await behindRelay(t, `a=${KEYS.a},b=${KEYS.b}`)
    t.equal((await get(as(KEYS.a))).statusCode, 200)
    t.notOk((await get(as(KEYS.a))).fullPath, 'remembered')
    // Caller a's repeat (the short cut), then caller b's first request (the full path), each held at its count
    // while SIGTERM comes.
    const heldAnswer = async (key: string): Promise<Awaited<ReturnType<typeof get>>> => {
      relay.hold()
      const answer = get(as(key))
      await relay.held(1)
      app.shutdown.draining = true
      relay.release()
      const answered = await answer
      app.shutdown.draining = false
      return answered
    }
    const short = await heldAnswer(KEYS.a)
    const full = await heldAnswer(KEYS.b)
    t.notOk(short.fullPath, 'answered in front of Fastify')
    t.ok(full.fullPath)
    t.equal(full.headers.connection, 'close', 'the full path closes the connection')
    t.equal(short.headers.connection, 'close', 'and so does the short cut')
    t.same(Object.keys(short.headers), Object.keys(full.headers), 'with the same headers in the same order')
  })
  t.test('Redis gone (skipOnError): a remembered request is let through with the same limit headers as the full path', async (t) => {
    const { relay, app, get } = await behindRelay(t, `a=${KEYS.a},c=${KEYS.c}`)
    t.equal((await get(as(KEYS.a))).statusCode, 200)
    relay.cut()
    for (let i = 0; i < 40 && app.redis?.status === 'ready'; i++) await new Promise((resolve) => setTimeout(resolve, 25))
    const [short, full] = [await get(as(KEYS.a)), await get(as(KEYS.c))]
    t.notOk(short.fullPath, 'answered in front of Fastify')
    t.ok(full.fullPath)
    t.equal(short.statusCode, 200)
    t.equal(full.statusCode, 200)
    const limit = (headers: Record<string, unknown>): unknown[] => ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'].map((name) => headers[name])
    t.same(limit(short.headers), limit(full.headers), 'an empty window, as the full path counts it')
    t.equal(short.body, full.body)
  })
})

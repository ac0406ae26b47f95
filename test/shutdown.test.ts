/**
 * The server process as `npm start` runs it: shutdown on SIGTERM (drain,
 * then grace), the connection cap, the metrics port, and the buffered log
 * losing no line at exit.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { connect, type Socket } from 'node:net'
import t from 'tap'
import { Agent, request } from 'undici'
import { APPLE_BUILD, JSON_HEADERS, appleEnv, fixture, loopbackUpstream } from './helpers.js'

const SERVER = new URL('../app/server.ts', import.meta.url).pathname

interface Running { child: ChildProcess, address: string, log: () => string, exit: Promise<number | null> }

/** app/server.ts through tap's TypeScript loader; resolves once `pattern` appears in its log. */
async function startServer (env: Record<string, string>, pattern = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/): Promise<Running & { match: RegExpExecArray }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(APPLE_|GUPSHUP_|GATEWAY_|METRICS_|NODE_ENV|PORT|HOST)/.test(name)))
  const child = spawn(process.execPath, [...process.execArgv, SERVER], { env: { ...clean, PORT: '0', LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'inherit'] })
  let log = ''
  const exit = once(child, 'exit').then(([code]) => code as number | null)
  const found = await new Promise<RegExpExecArray[]>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      log += chunk.toString()
      const listening = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(log)
      const match = pattern.exec(log)
      if (listening !== null && match !== null) resolve([listening, match])
    })
    exit.then(() => { reject(new Error(`server exited early: ${log}`)) }, reject)
  })
  return { child, address: found[0][1], match: found[1], log: () => log, exit }
}

/** Everything the server sends on `socket` until the socket closes (a reset included). */
async function received (socket: Socket): Promise<string> {
  let text = ''
  socket.on('data', (chunk: Buffer) => { text += chunk.toString() })
  socket.on('error', () => {})
  await new Promise((resolve) => socket.once('close', resolve))
  return text
}

async function opened (port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1')
  await once(socket, 'connect')
  return socket
}

t.test('SIGTERM: /ready fails at once, the listener answers through the drain, the in-flight call finishes within a grace raised to the upstream timeout, exit 0', async (t) => {
  let release = (): void => {}
  const released = new Promise<void>((resolve) => { release = resolve })
  let arrived = (): void => {}
  const calledUpstream = new Promise<void>((resolve) => { arrived = resolve })
  const slow = await loopbackUpstream(t, (_request, response) => {
    arrived()
    released.then(() => response.writeHead(200, JSON_HEADERS).end(JSON.stringify(fixture('apple-build-usages'))), () => {})
  })
  // SHUTDOWN_GRACE_MS=100 alone would cut the in-flight call; UPSTREAM_TIMEOUT_MS raises it.
  const server = await startServer({
    ...await appleEnv(slow),
    GUPSHUP_APP_TOKENS: '{"app-1": "token-1"}',
    SHUTDOWN_DRAIN_MS: '1500',
    SHUTDOWN_GRACE_MS: '100',
    UPSTREAM_TIMEOUT_MS: '20000',
    KEEP_ALIVE_TIMEOUT_MS: '60000'
  })
  const port = Number(new URL(server.address).port)
  // A keep-alive socket that has answered once and sits idle when SIGTERM comes.
  const keptAlive = await opened(port)
  const first = new Promise<string>((resolve) => { keptAlive.once('data', (chunk: Buffer) => { resolve(chunk.toString()) }) })
  keptAlive.write('GET /health HTTP/1.1\r\nHost: gw\r\n\r\n')
  t.match(await first, /^HTTP\/1\.1 200 [^]*keep-alive/i)

  const inFlight = request(`${server.address}/usage/apple/builds/${APPLE_BUILD}`, { dispatcher: new Agent() })
  await calledUpstream
  server.child.kill('SIGTERM')
  while (!server.log().includes('"signal":"SIGTERM"')) await new Promise((resolve) => setTimeout(resolve, 20))

  const ready = await request(`${server.address}/ready`, { dispatcher: new Agent() })
  t.equal(ready.statusCode, 503, 'readiness fails at once')
  t.same(await ready.body.json(), { status: 'shutting_down' })
  const health = await request(`${server.address}/health`, { dispatcher: new Agent() })
  t.equal(health.statusCode, 200, 'the listener still answers during the drain')
  t.equal(health.headers.connection, 'close', 'and ends each keep-alive socket with its answer')
  await health.body.dump()

  const onKeptAlive = received(keptAlive)
  keptAlive.write(`GET /usage/apple/builds/${APPLE_BUILD}?period=P7D HTTP/1.1\r\nHost: gw\r\n\r\n`)
  const answer = await onKeptAlive
  t.match(answer, /^HTTP\/1\.1 /, 'a new request on an open keep-alive socket is answered, not reset')
  t.match(answer, /connection: close/i)

  // The upstream answers only once the drain is over and SHUTDOWN_GRACE_MS has long passed.
  await new Promise((resolve) => setTimeout(resolve, 2000))
  release()
  const res = await inFlight
  t.equal(res.statusCode, 200, 'the in-flight request is answered')
  t.equal((await res.body.json() as { report: string }).report, 'betaBuildUsages')
  t.equal(await server.exit, 0)
})

t.test('MAX_CONNECTIONS: a socket over the cap is closed at once, logged and counted; METRICS_PORT serves /metrics apart', async (t) => {
  const server = await startServer({ MAX_CONNECTIONS: '2', METRICS_PORT: '0', SHUTDOWN_DRAIN_MS: '0' }, /"metrics":"(http:\/\/[^"]+)"/)
  const metricsUrl = server.match[1]
  const port = Number(new URL(server.address).port)
  const idle = [await opened(port), await opened(port)]
  const over = await opened(port)
  const overAnswer = received(over)
  over.write('GET /health HTTP/1.1\r\nHost: gw\r\n\r\n')
  t.equal(await overAnswer, '', 'the third socket is closed without an answer')
  for (const socket of idle) socket.destroy()

  const metrics = await request(metricsUrl)
  t.equal(metrics.statusCode, 200)
  t.match(await metrics.body.text(), /^gateway_connections_refused_total 1$/m)
  let main = await request(`${server.address}/metrics`).catch(() => undefined)
  // The cap frees as the destroyed sockets close on the server's side.
  while (main === undefined) main = await request(`${server.address}/metrics`).catch(() => undefined)
  t.equal(main.statusCode, 404, 'not on the main port')
  await main.body.dump()
  server.child.kill('SIGTERM')
  t.equal(await server.exit, 0)
  t.match(server.log(), /connection refused: MAX_CONNECTIONS sockets are open/)
})

t.test('the buffered log loses no line at exit: SIGTERM under load, every answered request is in the log', async (t) => {
  const server = await startServer({ SHUTDOWN_DRAIN_MS: '300' })
  const agent = new Agent({ connections: 16 })
  const answered: string[] = []
  let stop = false
  const worker = async (): Promise<void> => {
    while (!stop) {
      try {
        const res = await request(`${server.address}/usage/apple/builds/${APPLE_BUILD}`, { dispatcher: agent })
        await res.body.dump()
        if (res.statusCode === 503) t.match(res.headers['content-type'], /^application\/problem\+json/, 'a request met while closing gets a 503 problem')
        answered.push(res.headers['x-request-id'] as string)
      } catch {
        stop = true
      }
    }
  }
  const workers = Array.from({ length: 16 }, worker)
  while (answered.length < 300) await new Promise((resolve) => setTimeout(resolve, 20))
  server.child.kill('SIGTERM')
  await Promise.all(workers)
  t.equal(await server.exit, 0)
  const logged = new Set(server.log().split('\n').filter((line) => line.includes('"msg":"request"')).map((line) => (JSON.parse(line) as { requestId: string }).requestId))
  t.ok(answered.length > 300)
  t.same(answered.filter((id) => !logged.has(id)), [], `all ${answered.length} answered requests are logged`)
})

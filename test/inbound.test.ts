import { request as httpRequest } from 'node:http'
import t from 'tap'
import { APPLE_BUILD, simulatedGateway } from './helpers.js'

const BUILD = `/usage/apple/builds/${APPLE_BUILD}`

t.test('the inbound limit is per API key, with x-ratelimit headers and a 429 problem', async (t) => {
  const keys = ['caller-a-0123456789', 'caller-b-0123456789']
  const { app } = await simulatedGateway(t, { env: { GATEWAY_API_KEYS: keys.join(','), GATEWAY_RATE_LIMIT_PER_MINUTE: '3' } })
  const as = (key: string): { url: string, headers: Record<string, string> } => ({ url: BUILD, headers: { 'x-api-key': key } })
  const first = await app.inject(as(keys[0]))
  t.equal(first.headers['x-ratelimit-limit'], '3')
  t.equal(first.headers['x-ratelimit-remaining'], '2')
  await app.inject(as(keys[0]))
  await app.inject(as(keys[0]))
  const over = await app.inject(as(keys[0]))
  t.equal(over.statusCode, 429)
  t.match(over.headers['content-type'], /^application\/problem\+json/)
  t.match(over.json(), { code: 'rate_limited', status: 429, detail: /3 requests a minute per API key/ })
  t.ok(Number(over.headers['retry-after']) > 0)
  t.equal((await app.inject(as(keys[1]))).statusCode, 200, 'another key has its own budget')
  t.equal((await app.inject('/health')).statusCode, 200, '/health is not limited')
  for (let i = 0; i < 5; i++) t.equal((await app.inject('/health')).statusCode, 200)
})

t.test('without auth, the inbound limit is per client IP', async (t) => {
  const { app } = await simulatedGateway(t, { env: { GATEWAY_RATE_LIMIT_PER_MINUTE: '1' } })
  t.equal((await app.inject({ url: BUILD, remoteAddress: '10.0.0.1' })).statusCode, 200)
  t.equal((await app.inject({ url: BUILD, remoteAddress: '10.0.0.1' })).statusCode, 429)
  t.equal((await app.inject({ url: BUILD, remoteAddress: '10.0.0.2' })).statusCode, 200)
})

t.test('a GET with a body is refused before it is read', async (t) => {
  const { app, sims } = await simulatedGateway(t)
  const res = await app.inject({ method: 'GET', url: BUILD, payload: 'x'.repeat(10), headers: { 'content-type': 'text/plain' } })
  t.equal(res.statusCode, 400)
  t.match(res.json(), { code: 'body_not_allowed' })
  const other = await app.inject({ method: 'POST', url: BUILD, payload: {} })
  t.equal(other.statusCode, 400)
  t.same(sims.apple.calls, [])
})

t.test('oversized headers and URLs are refused cleanly over a real socket', async (t) => {
  const { app } = await simulatedGateway(t)
  const address = await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = new URL(address)
  const answerOf = async (path: string, headers: Record<string, string> = {}): Promise<[number, string]> => await new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers }, (res) => {
      res.resume()
      resolve([res.statusCode ?? 0, String(res.headers['content-type']).split(';')[0]])
    })
    req.on('error', reject)
    req.end()
  })
  t.same(await answerOf(BUILD, { 'x-padding': 'x'.repeat(20_000) }), [431, 'application/problem+json'])
  t.same(await answerOf(`${BUILD}?limit=${'9'.repeat(20_000)}`), [431, 'application/problem+json'])
  t.same(await answerOf(`/usage/apple/builds/${'a'.repeat(2000)}`), [414, 'application/problem+json'])
  t.same(await answerOf('/usage/apple/builds/%zz'), [400, 'application/problem+json'])
  t.same(await answerOf('/health'), [200, 'application/json'], 'the server is still up')
})

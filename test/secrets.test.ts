import t from 'tap'
import Fastify from 'fastify'
import { serverOptions } from '../app/app.js'
import { loadConfig } from '../providers/index.js'
import { APPLE_BUILD, GUPSHUP_APP, GUPSHUP_TOKEN, JSON_HEADERS, fixture, mockedGateway } from './helpers.js'

const API_KEY = 'gateway-key-SECRET-0123456789'

t.test('no secret reaches a log line or an error body, whatever happens', async (t) => {
  const gw = await mockedGateway(t, { env: { GATEWAY_API_KEYS: API_KEY } })
  const { app, apple, gupshup } = gw
  const jwts: string[] = []
  const seen = (options: { headers?: unknown }): void => {
    const auth = String((options.headers as Record<string, string>).authorization)
    if (auth.startsWith('Bearer ')) jwts.push(auth.slice(7))
  }
  apple.intercept({ path: /betaBuildUsages/, method: 'GET' }).reply(200, (options) => { seen(options); return fixture('apple-build-usages') as object }, { headers: JSON_HEADERS })
  // An upstream that echoes the credentials it was sent.
  apple.intercept({ path: /betaTesterUsages/, method: 'GET' }).reply(400, (options) => {
    seen(options)
    const auth = String((options.headers as Record<string, string>).authorization)
    return { errors: [{ status: '400', code: 'PARAMETER_ERROR', title: 'bad', detail: `You sent Authorization: ${auth}; token ${auth.slice(7)}` }] }
  }, { headers: JSON_HEADERS })
  gupshup.intercept({ path: /usage/, method: 'GET' }).reply(500, { status: 'error', message: 'boom' }, { headers: JSON_HEADERS })

  const headers = { 'x-api-key': API_KEY }
  const answers = [
    await app.inject({ url: `/usage/apple/builds/${APPLE_BUILD}`, headers }),
    await app.inject({ url: '/usage/apple/apps/123/beta-testers', headers: { authorization: `Bearer ${API_KEY}` } }),
    await app.inject({ url: `/usage/gupshup/apps/${GUPSHUP_APP}?from=2024-01-01&to=2024-01-02`, headers }),
    await app.inject({ url: `/usage/apple/builds/${APPLE_BUILD}`, headers: { 'x-api-key': `${API_KEY}x` } }),
    await app.inject({ url: `/usage/apple/builds/${APPLE_BUILD}?x=${API_KEY.slice(0, 4)}`, headers })
  ]
  t.same(answers.map((res) => res.statusCode), [200, 400, 502, 401, 400])
  t.ok(jwts.length >= 2, 'Apple was sent JWTs')
  t.match(answers[1].json().detail, /\[redacted\]/, 'an echoed credential is redacted from the problem')

  const pemBody = gw.applePrivateKeyPem.split('\n')[1]
  const secrets = [API_KEY, GUPSHUP_TOKEN, pemBody, ...jwts]
  const everything = [...gw.rawLogs, ...answers.map((res) => res.body)].join('\n')
  t.ok(gw.rawLogs.length >= answers.length, 'one line per request at least')
  for (const secret of secrets) t.notOk(everything.includes(secret), `${secret.slice(0, 6)}… appears nowhere`)

  const spec = (await app.inject('/openapi.json')).body
  for (const secret of secrets) t.notOk(spec.includes(secret))
})

t.test('one JSON log line per request, with its id, route, status and cache result', async (t) => {
  const gw = await mockedGateway(t)
  gw.apple.intercept({ path: /betaBuildUsages/, method: 'GET' }).reply(200, fixture('apple-build-usages') as object, { headers: JSON_HEADERS })
  const res = await gw.app.inject({ url: `/usage/apple/builds/${APPLE_BUILD}`, headers: { 'x-request-id': 'caller-id-42' } })
  t.equal(res.headers['x-request-id'], 'caller-id-42', 'the caller’s request id is kept')
  const odd = await gw.app.inject({ url: '/health', headers: { 'x-request-id': 'bad id with spaces' } })
  t.not(odd.headers['x-request-id'], 'bad id with spaces')
  await gw.app.inject(`/usage/apple/builds/${APPLE_BUILD}`)
  const lines = gw.logs.filter((line) => line.msg === 'request')
  t.equal(lines.length, 3)
  t.match(lines[0], { requestId: 'caller-id-42', route: '/usage/apple/builds/:buildId', statusCode: 200, cache: 'MISS', upstreamCalls: 1 })
  t.ok((lines[0].upstreamMs as number) > 0, 'the upstream time of a miss')
  t.match(lines[2], { cache: 'HIT', upstreamCalls: 0, upstreamMs: 0 })
})

t.test('the logger redacts credentials wherever a log line would carry them', async (t) => {
  const gw = await mockedGateway(t)
  gw.app.log.info({
    req: { headers: { authorization: 'Bearer SECRET-1', 'x-api-key': 'SECRET-2', accept: 'application/json' } },
    headers: { authorization: 'SECRET-3', 'x-api-key': 'SECRET-9', accept: 'application/json' },
    token: 'SECRET-4',
    upstream: { token: 'SECRET-5', password: 'SECRET-6' },
    partner: { secret: 'SECRET-7' },
    apple: { privateKeyPem: 'SECRET-8' }
  }, 'something that should not have logged credentials')
  const line = gw.rawLogs.at(-1) ?? ''
  t.notMatch(line, /SECRET-/)
  t.match(line, /"accept":"application\/json"/, 'the rest of the line stays')
  // Fastify's request serializer keeps no headers at all; the rest are censored in place.
  t.equal(line.match(/\[redacted\]/g)?.length, 7)
})

t.test('lines logged for a request carry its id, and are still redacted', async (t) => {
  const lines: string[] = []
  const app = Fastify(serverOptions(loadConfig({}), { write: (line) => { lines.push(line) } }))
  t.teardown(async () => { await app.close() })
  app.get('/x', async (request) => {
    request.log.info({ token: 'SECRET-1', upstream: { apiKey: 'SECRET-2' }, kept: 1 }, 'handler line')
    request.log.child({ step: 2 }).warn({ password: 'SECRET-3' }, 'grandchild line')
    return 'ok'
  })
  await app.inject({ url: '/x', headers: { 'x-request-id': 'caller-id-7' } })
  await app.inject({ url: '/x', headers: { 'x-request-id': 'not "plain"' } })
  const logged = lines.map((line) => JSON.parse(line) as Record<string, unknown>)
  t.match(logged[0], { requestId: 'caller-id-7', msg: 'handler line', kept: 1, token: '[redacted]', upstream: { apiKey: '[redacted]' } })
  t.match(logged[1], { requestId: 'caller-id-7', step: 2, msg: 'grandchild line', password: '[redacted]' })
  t.match(logged[2], { requestId: /^[\w-]{36}$/, msg: 'handler line' }, 'an id that is not a plain token is replaced, and bound')
  t.notMatch(lines.join('\n'), /SECRET-/)
})

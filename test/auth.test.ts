import t from 'tap'
import { APPLE_BUILD, simulatedGateway } from './helpers.js'

const KEYS = ['dashboards=first-key-0123456789', 'second-key-0123456789']
const BUILD = `/usage/apple/builds/${APPLE_BUILD}`

t.test('with GATEWAY_API_KEYS, /usage needs a key; /health, /openapi.json and /docs stay open', async (t) => {
  const gw = await simulatedGateway(t, { env: { GATEWAY_API_KEYS: KEYS.join(', ') } })
  const { app, sims } = gw
  const none = await app.inject(BUILD)
  t.equal(none.statusCode, 401)
  t.match(none.headers['content-type'], /^application\/problem\+json/)
  t.equal(none.json().code, 'unauthorized')
  const wrong = await app.inject({ url: BUILD, headers: { 'x-api-key': 'first-key-012345678X' } })
  t.equal(wrong.statusCode, 401)
  const prefix = await app.inject({ url: BUILD, headers: { 'x-api-key': 'first-key' } })
  t.equal(prefix.statusCode, 401)
  t.equal(sims.apple.calls.length, 0, 'no upstream call without a key')

  t.equal((await app.inject({ url: BUILD, headers: { 'x-api-key': 'first-key-0123456789' } })).statusCode, 200)
  t.equal((await app.inject({ url: BUILD, headers: { authorization: `Bearer ${KEYS[1]}` } })).statusCode, 200)
  t.equal((await app.inject({ url: BUILD, headers: { authorization: `Basic ${KEYS[1]}` } })).statusCode, 401)
  for (const open of ['/health', '/openapi.json', '/docs/']) t.equal((await app.inject(open)).statusCode, 200, open)
  // Each request's log line names its caller by the key's name (or position), never by the key.
  const callers = gw.logs.filter((line) => line.msg === 'request' && line.statusCode === 200 && line.route !== undefined).map((line) => line.caller)
  t.same(callers.slice(0, 2), ['dashboards', 'key2'])
  t.notOk(gw.rawLogs.some((line) => line.includes('key-0123456789')), 'no key in any log line')
})

t.test('without keys (development), /usage is open', async (t) => {
  const { app } = await simulatedGateway(t)
  t.equal((await app.inject(BUILD)).statusCode, 200)
})

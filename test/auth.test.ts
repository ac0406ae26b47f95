import t from 'tap'
import { APPLE_BUILD, simulatedGateway } from './helpers.js'

const KEYS = ['first-key-0123456789', 'second-key-0123456789']
const BUILD = `/usage/apple/builds/${APPLE_BUILD}`

t.test('with GATEWAY_API_KEYS, /usage needs a key; /health, /openapi.json and /docs stay open', async (t) => {
  const { app, sims } = await simulatedGateway(t, { env: { GATEWAY_API_KEYS: KEYS.join(', ') } })
  const none = await app.inject(BUILD)
  t.equal(none.statusCode, 401)
  t.match(none.headers['content-type'], /^application\/problem\+json/)
  t.equal(none.json().code, 'unauthorized')
  const wrong = await app.inject({ url: BUILD, headers: { 'x-api-key': 'first-key-012345678X' } })
  t.equal(wrong.statusCode, 401)
  const prefix = await app.inject({ url: BUILD, headers: { 'x-api-key': 'first-key' } })
  t.equal(prefix.statusCode, 401)
  t.equal(sims.apple.calls.length, 0, 'no upstream call without a key')

  t.equal((await app.inject({ url: BUILD, headers: { 'x-api-key': KEYS[0] } })).statusCode, 200)
  t.equal((await app.inject({ url: BUILD, headers: { authorization: `Bearer ${KEYS[1]}` } })).statusCode, 200)
  t.equal((await app.inject({ url: BUILD, headers: { authorization: `Basic ${KEYS[1]}` } })).statusCode, 401)
  for (const open of ['/health', '/openapi.json', '/docs/']) t.equal((await app.inject(open)).statusCode, 200, open)
})

t.test('without keys (development), /usage is open', async (t) => {
  const { app } = await simulatedGateway(t)
  t.equal((await app.inject(BUILD)).statusCode, 200)
})

import t from 'tap'
import { GatewayError } from '../src/errors.js'
import { gatewayErrorOf, problemOf } from '../src/problem.js'
import { APPLE_BUILD, mockedGateway } from './helpers.js'

t.test('an unexpected error is a bare 500 that names nothing of its cause', async (t) => {
  const problem = gatewayErrorOf(new TypeError('secret internals at /srv/app.js:42'))
  t.equal(problem.status, 500)
  t.equal(problem.code, 'internal_error')
  t.notMatch(problem.detail, /secret internals/)
  const body = problemOf(problem, 'req-9', '/usage/x')
  t.same(body, { type: 'urn:usage-gateway:problem:internal_error', title: 'Internal error', status: 500, detail: problem.detail, code: 'internal_error', requestId: 'req-9', instance: '/usage/x' })
})

t.test('framework errors keep their status under a stable code', async (t) => {
  for (const [status, code] of [[405, 'method_not_allowed'], [406, 'not_acceptable'], [413, 'payload_too_large'], [415, 'unsupported_media_type']] as const) {
    const problem = gatewayErrorOf(Object.assign(new Error('framework says no'), { statusCode: status }))
    t.match(problem, { status, code, detail: 'framework says no' })
  }
  const typed = new GatewayError({ status: 418, code: 'teapot', title: 'Teapot', detail: 'short and stout' })
  t.equal(gatewayErrorOf(typed), typed, 'typed errors pass through')
})

t.test('an upstream body over 16 MiB is refused as invalid, not read into memory whole', async (t) => {
  const { app, apple } = await mockedGateway(t)
  apple.intercept({ path: /betaBuildUsages/, method: 'GET' }).reply(200, 'x'.repeat(17 * 1024 * 1024), { headers: { 'content-type': 'application/json' } })
  const res = await app.inject(`/usage/apple/builds/${APPLE_BUILD}`)
  t.equal(res.statusCode, 502)
  t.match(res.json(), { code: 'upstream_invalid_response', detail: /larger than/ })
})

/**
 * A provider added through the registry alone: the app is built with
 * `[...providers, meter]` and serves, validates, caches, lists and documents
 * its report, though nothing else in the gateway names it.
 */
import t from 'tap'
import { providers } from '../providers/index.js'
import { loadConfig } from '../src/config.js'
import { startSimulators } from '../src/simulators.js'
import { meter } from './extra-provider/index.js'
import { gateway } from './helpers.js'

const withMeter = [...providers, meter] as const

t.test('an extra provider is served, validated, cached, listed in GET /usage and in the spec', async (t) => {
  const running = await startSimulators(loadConfig({ LOG_LEVEL: 'silent' }, withMeter), [meter])
  t.teardown(running.close)
  const sim = running.simulators.meter
  const { app } = await gateway(t, { config: running.config, providers: withMeter })

  const first = await app.inject({ url: '/usage/meter/accounts/acme-1?day=2024-01-02' })
  t.equal(first.statusCode, 200)
  t.equal(first.headers['x-cache'], 'MISS')
  t.match(first.json(), {
    provider: 'meter',
    report: 'dailyMessages',
    subject: { type: 'account', id: 'acme-1' },
    units: { messages: 'count' },
    data: [{ start: '2024-01-02', end: '2024-01-02', metrics: { messages: 42 } }],
    totals: { messages: 42 }
  })
  t.same(sim.calls, ['/v1/accounts/acme-1/messages?date=2024-01-02'], 'the row maps `day` to the upstream `date`')

  const second = await app.inject({ url: '/usage/meter/accounts/acme-1?day=2024-01-02' })
  t.equal(second.headers['x-cache'], 'HIT')
  t.equal(second.body, first.body)
  t.equal(sim.calls.length, 1, 'one simulator call for both')

  const bad = await app.inject({ url: '/usage/meter/accounts/acme-1?day=tomorrow' })
  t.equal(bad.statusCode, 400)
  t.equal(bad.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.match(bad.json(), { code: 'invalid_parameter', parameter: 'day' })
  t.equal(sim.calls.length, 1, 'no upstream call for a bad parameter')

  const catalog = (await app.inject({ url: '/usage' })).json() as { providers: Array<{ name: string, status: string, reports: Array<{ route: string, parameters: Array<{ name: string }> }> }> }
  const listed = catalog.providers.find((provider) => provider.name === 'meter')
  t.equal(listed?.status, 'configured')
  t.equal(listed?.reports[0].route, '/usage/meter/accounts/{accountId}')
  t.same(listed?.reports[0].parameters.map((parameter) => parameter.name), ['accountId', 'day', 'labels', 'account'])
  t.same(catalog.providers.map((provider) => provider.name), withMeter.map((provider) => provider.name))

  const spec = (await app.inject({ url: '/openapi.json' })).json() as { paths: Record<string, { get: { tags: string[] } }>, tags: Array<{ name: string }>, components: { schemas: Record<string, { properties: { provider: { anyOf: Array<{ enum: string[] }> } } }> } }
  t.same(spec.paths['/usage/meter/accounts/{accountId}'].get.tags, ['meter'])
  t.ok(spec.tags.some((tag) => tag.name === 'meter'))
  t.ok(spec.components.schemas.UsageReport.properties.provider.anyOf.some((option) => option.enum.includes('meter')), 'UsageReport.provider names it')
})

t.test('without its credentials, the extra provider answers 503 provider_not_configured, and the others are unaffected', async (t) => {
  const { app } = await gateway(t, { config: loadConfig({ LOG_LEVEL: 'silent' }, withMeter), providers: withMeter })
  const response = await app.inject({ url: '/usage/meter/accounts/acme-1?day=2024-01-02' })
  t.equal(response.statusCode, 503)
  t.match(response.json(), { code: 'provider_not_configured', provider: 'meter' })
  const catalog = (await app.inject({ url: '/usage' })).json() as { providers: Array<{ name: string, status: string }> }
  t.equal(catalog.providers.find((provider) => provider.name === 'meter')?.status, 'not_configured')
})

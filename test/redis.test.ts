import { spawnSync } from 'node:child_process'
import t from 'tap'
import { addDays } from '../src/days.js'
import { loadConfig } from '../providers/index.js'
import { GUPSHUP_APP, freePort, gateway, overHttp, simulatedConfig, startRedis, startSims, stopRedis } from './helpers.js'

// A real redis-server, started on a free port. .ci/run installs Debian's package.
const hasRedis = spawnSync('redis-server', ['--version']).status === 0
if (!hasRedis) {
  process.stderr.write('\n*** redis-server is not on the PATH: the shared-tier tests are SKIPPED (apt-get install redis-server) ***\n\n')
}

const usage = (day: string): string => `/usage/gupshup/apps/${GUPSHUP_APP}?from=${day}&to=${day}`

t.test('two replicas sharing Redis', { skip: hasRedis ? false : 'redis-server is not installed' }, async (t) => {
  const port = await freePort()
  let redis = await startRedis(port)
  t.teardown(async () => { await stopRedis(redis) })
  const sims = await startSims(t)
  const replica = async (): Promise<Awaited<ReturnType<typeof gateway>>> => await gateway(t, {
    config: simulatedConfig(loadConfig({ LOG_LEVEL: 'silent', REDIS_URL: `redis://127.0.0.1:${port}`, GATEWAY_RATE_LIMIT_PER_MINUTE: '1000' }), sims)
  })
  const [a, b] = [await replica(), await replica()]

  t.test('Gupshup’s 10 a minute hold across both: 25 distinct days through two replicas, 10 upstream calls, no upstream 429', async (t) => {
    const answers = []
    for (let index = 0; index < 25; index++) {
      const day = addDays('2021-01-01', index * 40)
      answers.push(await (index % 2 === 0 ? a : b).app.inject(usage(day)))
    }
    t.equal(sims.gupshup.calls.length, 10)
    t.equal(sims.gupshup.calls.filter((call) => call.status === 429).length, 0)
    t.equal(answers.filter((res) => res.statusCode === 200).length, 10)
    t.equal(answers.filter((res) => res.statusCode === 429).length, 15)
  })

  t.test('a report fetched through one replica is a hit on the other; 100 concurrent cold requests over both make one upstream call', async (t) => {
    const build = '/usage/apple/builds/ace4f47a-60ae-4ed6-954f-c4e61c7baab0'
    const first = await a.app.inject(build)
    t.equal(first.headers['x-cache'], 'MISS')
    const second = await b.app.inject(build)
    t.equal(second.headers['x-cache'], 'HIT', 'from the shared level')
    t.equal(second.body, first.body)
    t.equal(second.headers.etag, first.headers.etag)
    t.equal(sims.apple.calls.length, 1)

    const cold = '/usage/apple/apps/6447306070/beta-testers?limit=150&period=P30D'
    const answers = await Promise.all(Array.from({ length: 100 }, async (_, index) => await (index % 2 === 0 ? a : b).app.inject(cold)))
    t.ok(answers.every((res) => res.statusCode === 200))
    t.equal(new Set(answers.map((res) => res.body)).size, 1)
    t.equal(sims.apple.calls.length, 2, 'one upstream call for the hundred')
  })

  t.test('the inbound limit counts requests to both replicas', async (t) => {
    const limited = simulatedConfig(loadConfig({ LOG_LEVEL: 'silent', REDIS_URL: `redis://127.0.0.1:${port}`, GATEWAY_RATE_LIMIT_PER_MINUTE: '2' }), sims)
    const [c, d] = [await gateway(t, { config: limited }), await gateway(t, { config: limited })]
    const from = { remoteAddress: '198.51.100.7' }
    t.equal((await c.app.inject({ url: '/usage', ...from })).statusCode, 200)
    t.equal((await d.app.inject({ url: '/usage', ...from })).statusCode, 200)
    t.equal((await c.app.inject({ url: '/usage', ...from })).statusCode, 429, 'the third request, on either replica')
  })

  t.test('requests answered in front of Fastify are counted in Redis too: the limit holds across replicas', async (t) => {
    const key = 'shared-key-0123456789'
    const limited = simulatedConfig(loadConfig({ LOG_LEVEL: 'silent', REDIS_URL: `redis://127.0.0.1:${port}`, GATEWAY_RATE_LIMIT_PER_MINUTE: '4', GATEWAY_API_KEYS: `shared=${key}` }), sims)
    const [c, d] = [await gateway(t, { config: limited }), await gateway(t, { config: limited })]
    const [onC, onD] = [await overHttp(t, c.app), await overHttp(t, d.app)]
    // A report the replicas above fetched: the shared level has it.
    const ask = { url: '/usage/apple/builds/ace4f47a-60ae-4ed6-954f-c4e61c7baab0', headers: { 'x-api-key': key } }
    const first = await onC.get(ask)
    t.equal(first.statusCode, 200, first.body)
    const remembered = await onC.get(ask)
    t.notOk(remembered.fullPath, 'answered in front of Fastify')
    t.equal(remembered.headers['x-ratelimit-remaining'], '2', 'counted in Redis')
    t.equal((await onD.get(ask)).headers['x-ratelimit-remaining'], '1', 'and the other replica sees the count')
    t.equal((await onC.get(ask)).headers['x-ratelimit-remaining'], '0')
    const over = await onC.get(ask)
    t.equal(over.statusCode, 429, 'the fifth request, over the limit: refused by the full path, counted once')
    t.equal(over.headers['x-ratelimit-remaining'], '0')
  })

  t.test('Redis gone: no request is lost, /ready says so; Redis back: ready again', async (t) => {
    t.same((await a.app.inject('/ready')).json(), { status: 'ready', redis: 'ready' })
    await stopRedis(redis)
    await new Promise((resolve) => setTimeout(resolve, 200))
    const ready = await a.app.inject('/ready')
    t.equal(ready.statusCode, 503)
    t.equal(ready.json().status, 'degraded')
    const cached = await a.app.inject(usage('2021-01-01'))
    t.equal(cached.statusCode, 200, 'cached answers still flow')
    // Another app: its token's local fallback budget (half of Gupshup's 10) is untouched.
    const otherApp = Object.keys(sims.gupshup.tokens).find((appId) => appId !== GUPSHUP_APP) as string
    const fresh = await b.app.inject(`/usage/gupshup/apps/${otherApp}?from=2020-06-01&to=2020-06-02`)
    t.equal(fresh.statusCode, 200, 'upstream calls still flow, on the local budget')
    t.equal(sims.gupshup.calls.filter((call) => call.status === 429).length, 0)
    t.match((await a.app.inject('/metrics')).body, /^gateway_redis_up 0$/m)

    redis = await startRedis(port)
    for (let i = 0; i < 40 && a.app.redis?.status !== 'ready'; i++) await new Promise((resolve) => setTimeout(resolve, 100))
    t.same((await a.app.inject('/ready')).json(), { status: 'ready', redis: 'ready' })
    t.match((await a.app.inject('/metrics')).body, /^gateway_redis_up 1$/m)
  })
})

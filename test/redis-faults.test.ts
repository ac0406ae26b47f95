/**
 * Redis reachable but misbehaving (refusing commands, or holding a damaged entry): the
 * replicas still answer, keep to their local budgets, and never serve or
 * crash on what Redis holds. (test/redis.test.ts covers Redis gone.)
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import t from 'tap'
import { Redis } from 'ioredis'
import { addDays } from '../src/days.js'
import { loadConfig } from '../providers/index.js'
import { GUPSHUP_APP, freePort, gateway, simulatedConfig, startSims } from './helpers.js'

const hasRedis = spawnSync('redis-server', ['--version']).status === 0

async function startRedis (port: number): Promise<{ child: ChildProcess, admin: Redis }> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
  const admin = new Redis({ port, lazyConnect: true, retryStrategy: () => 50, maxRetriesPerRequest: null })
  // Refused until redis-server has bound its port: retried every 50 ms until the ping answers.
  admin.on('error', () => {})
  await admin.connect().catch(() => {})
  await admin.ping()
  return { child, admin }
}

const usage = (day: string, app = GUPSHUP_APP): string => `/usage/gupshup/apps/${app}?from=${day}&to=${day}`

t.test('Redis reachable but misbehaving', { skip: hasRedis ? false : 'redis-server is not installed' }, async (t) => {
  const port = await freePort()
  const { child, admin } = await startRedis(port)
  t.teardown(async () => {
    admin.disconnect()
    if (child.exitCode === null) {
      child.kill('SIGKILL')
      await once(child, 'exit')
    }
  })
  const sims = await startSims(t)
  // The gateway signs in as its own Redis user, whose rights a test can take away.
  await admin.acl('SETUSER', 'gateway', 'on', '>gateway-secret', '~*', '&*', '+@all')
  const url = `redis://gateway:gateway-secret@127.0.0.1:${port}`
  const config = simulatedConfig(loadConfig({ LOG_LEVEL: 'silent', REDIS_URL: url, GATEWAY_RATE_LIMIT_PER_MINUTE: '1000' }), sims)
  const replica = async (): Promise<Awaited<ReturnType<typeof gateway>>> => await gateway(t, { config })

  t.test('a damaged shared entry is not served: the replica fetches the report itself', async (t) => {
    const [a, b] = [await replica(), await replica()]
    const build = '/usage/apple/builds/ace4f47a-60ae-4ed6-954f-c4e61c7baab0'
    const first = await a.app.inject(build)
    t.equal(first.statusCode, 200)
    const keys = (await admin.keys('usage-gateway:report:*')).filter((key) => !key.endsWith(':lock'))
    t.ok(keys.length > 0, 'the report was shared')
    for (const key of keys) await admin.set(key, '{not json', 'PX', 60_000)
    const second = await b.app.inject(build)
    t.equal(second.statusCode, 200)
    t.equal(second.headers['x-cache'], 'MISS', 'not a hit from the damaged entry')
    t.same(second.json(), first.json(), 'the same report, fetched afresh')
    t.equal(sims.apple.calls.length, 2, 'the second replica called Apple itself')
    t.not(await admin.get(keys[0]), '{not json', 'and shared its good copy in place of the damaged one')
  })

  t.test('a replica waiting on another’s fetch of a cold report answers with its result', async (t) => {
    const [a, b] = [await replica(), await replica()]
    const appleCalls = sims.apple.calls.length
    const cold = '/usage/apple/apps/6447306070/beta-testers?limit=20&period=P90D'
    const [first, second] = await Promise.all([a.app.inject(cold), b.app.inject(cold)])
    t.same([first.statusCode, second.statusCode], [200, 200])
    t.same([first.headers['x-cache'], second.headers['x-cache']].sort(), ['HIT', 'MISS'], 'the waiter’s answer is a hit')
    t.equal(first.body, second.body)
    t.equal(sims.apple.calls.length - appleCalls, 1, 'one upstream call for both')
  })

  t.test('a lock left by a replica that died: the next replica waits at most UPSTREAM_TIMEOUT_MS, then fetches itself', async (t) => {
    const waitMs = 300
    const quick = simulatedConfig(loadConfig({ LOG_LEVEL: 'silent', REDIS_URL: url, GATEWAY_RATE_LIMIT_PER_MINUTE: '1000', UPSTREAM_TIMEOUT_MS: String(waitMs) }), sims)
    const { app } = await gateway(t, { config: quick })
    const key = 'usage-gateway:report:apple.builds.betaBuildUsages:default:ace4f47a-60ae-4ed6-954f-c4e61c7baab0?'
    await admin.del(key)
    await admin.set(`${key}:lock`, 'a-replica-that-died', 'PX', 60_000)
    const appleCalls = sims.apple.calls.length
    const res = await app.inject('/usage/apple/builds/ace4f47a-60ae-4ed6-954f-c4e61c7baab0')
    t.equal(res.statusCode, 200, 'answered, not hung on the lock')
    t.equal(res.headers['x-cache'], 'MISS')
    t.equal(sims.apple.calls.length - appleCalls, 1, 'fetched upstream after the wait')
    t.equal(await admin.get(`${key}:lock`), 'a-replica-that-died', 'another’s lock is not released by this replica')
    t.ok(await admin.get(key), 'its answer is shared')
  })

  t.test('Redis refusing the gateway’s writes and scripts: reports still answered, each replica keeps to half of Gupshup’s 10 a minute', async (t) => {
    const [a, b] = [await replica(), await replica()]
    await admin.acl('SETUSER', 'gateway', '-set', '-eval')
    t.teardown(async () => { await admin.acl('SETUSER', 'gateway', '+set', '+eval') })
    const calls = sims.gupshup.calls.length
    const answersA = []
    for (let index = 0; index < 7; index++) answersA.push(await a.app.inject(usage(addDays('2019-01-01', index * 40))))
    t.same(answersA.map((res) => res.statusCode), [200, 200, 200, 200, 200, 429, 429], 'five a minute on replica a: its local half')
    t.equal(answersA[5].headers['content-type'], 'application/problem+json; charset=utf-8')
    const fromB = await b.app.inject(usage('2018-01-01'))
    t.equal(fromB.statusCode, 200, 'replica b has its own local half')
    t.equal(sims.gupshup.calls.length - calls, 6)
    t.equal(sims.gupshup.calls.filter((call) => call.status === 429).length, 0, 'Gupshup never refused a call')
    t.equal((await a.app.inject(usage('2019-01-01'))).headers['x-cache'], 'HIT', 'replica a still caches for itself')
    t.same((await a.app.inject('/ready')).json(), { status: 'ready', redis: 'ready' }, 'Redis is up, only refusing')

    // No lock can be taken: each replica fetches a cold report for itself rather than wait.
    const appleCalls = sims.apple.calls.length
    const cold = '/usage/apple/apps/6447306070/beta-testers?limit=50&period=P7D'
    const [fromA, fromBApple] = await Promise.all([a.app.inject(cold), b.app.inject(cold)])
    t.same([fromA.statusCode, fromBApple.statusCode], [200, 200])
    t.same([fromA.headers['x-cache'], fromBApple.headers['x-cache']], ['MISS', 'MISS'])
    t.equal(fromA.body, fromBApple.body)
    t.equal(sims.apple.calls.length - appleCalls, 2, 'one upstream call per replica')
  })
})

t.test('Redis unreachable at start: the gateway serves, says so once in its log, and says when Redis is back', { skip: hasRedis ? false : 'redis-server is not installed' }, async (t) => {
  const port = await freePort()
  const sims = await startSims(t)
  const config = simulatedConfig(loadConfig({ LOG_LEVEL: 'info', REDIS_URL: `redis://127.0.0.1:${port}` }), sims)
  const gw = await gateway(t, { config })
  const app = gw.app
  t.equal((await app.inject('/ready')).statusCode, 503)
  t.equal((await app.inject(usage('2020-01-01'))).statusCode, 200, 'served on local state')
  // The client retries every second: wait for two more refused attempts.
  await new Promise((resolve) => setTimeout(resolve, 2_500))
  const warnings = gw.logs.filter((line) => line.msg === 'redis unreachable: replicas fall back on local budgets')
  t.equal(warnings.length, 1, 'one line while it stays down, not one per attempt')
  t.equal(warnings[0].code, 'ECONNREFUSED')

  const { child, admin } = await startRedis(port)
  t.teardown(async () => {
    admin.disconnect()
    child.kill('SIGKILL')
    await once(child, 'exit')
  })
  for (let i = 0; i < 40 && app.redis?.status !== 'ready'; i++) await new Promise((resolve) => setTimeout(resolve, 100))
  t.same((await app.inject('/ready')).json(), { status: 'ready', redis: 'ready' })
  t.equal(gw.logs.filter((line) => line.msg === 'redis reachable again').length, 1)
})

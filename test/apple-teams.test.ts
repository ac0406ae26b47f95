/**
 * Two App Store Connect teams on one simulator: each key sees only its own
 * apps (and their builds, groups and testers), anything else is Apple's 404
 * exactly as for an id that does not exist, each key has its own quota, and
 * `parentOf` names the app of a build or group as one key sees it.
 */
import t, { type Test } from 'tap'
import { request } from 'undici'
import { NotFoundError, UpstreamInvalidResponseError } from '../src/errors.js'
import type { Source, SourceDeps } from '../src/provider.js'
import { quietObserver } from '../src/observer.js'
import { BackoffGate, SlidingWindowBudget } from '../src/upstream/budget.js'
import { CallerShares } from '../src/upstream/caller-shares.js'
import { internalContext } from '../src/upstream-timing.js'
import { apple, startAppleTeams, type RunningAppleTeams } from '../providers/apple/index.js'
import { parseAppleConfig } from '../providers/apple/config.js'
import { appleEndpoints, type AppleEndpoint } from '../providers/apple/endpoints.js'
import { appleDirectories } from '../providers/apple/directories.js'
import { APPLE_DEMO, testersOf } from '../providers/apple/simulator.js'
import { loadConfig } from '../providers/index.js'
import { APPLE_APP, APPLE_BUILD, APPLE_SMALL_APP, gateway, loopbackUpstream } from './helpers.js'

const GROUP_A = 'a1b2c3d4-0000-4000-8000-000000000001'
const GROUP_B = 'a1b2c3d4-0000-4000-8000-000000000002'
const BUILD_B = '7e9d8c7b-6a5f-4e3d-9c2b-0a1b2c3d4e5f'
/** A tester of Acme Chat only (the demo tester is in both apps). */
const TESTER_A = testersOf(APPLE_APP)[5]
/** A tester of Acme Notes only. */
const TESTER_B = testersOf(APPLE_SMALL_APP)[5]

const endpoint = (key: string): AppleEndpoint => {
  const found = appleEndpoints.find((row) => row.key === key)
  if (found === undefined) throw new Error(`no endpoint ${key}`)
  return found
}
const directory = (key: string): typeof appleDirectories[number] => {
  const found = appleDirectories.find((row) => row.key === key)
  if (found === undefined) throw new Error(`no directory ${key}`)
  return found
}

/** What plugins/usage.ts lends a source, without Redis. */
function deps (): SourceDeps {
  return {
    now: Date.now,
    timeoutMs: 5000,
    retries: { maxRetries: 0, retryBaseMs: 10 },
    observer: quietObserver,
    budget: (_name, limit, windowMs) => new SlidingWindowBudget(limit, windowMs),
    maxBackoffMs: 60_000,
    backoff: (baseMs) => new BackoffGate(baseMs, 60_000),
    shares: (windowMs, limitOf) => new CallerShares({ share: 0.5, windowMs, limitOf })
  }
}

/** Two teams on one simulator, and one AppleClient per team's key (as the registry builds them). */
async function twoAccounts (t: Test, options: Parameters<typeof startAppleTeams>[0] = {}): Promise<{ sim: RunningAppleTeams, a: Source<AppleEndpoint>, b: Source<AppleEndpoint> }> {
  const sim = await startAppleTeams(options)
  t.teardown(sim.close)
  const [a, b] = sim.teams.map((team) => apple.createSource(team.configure(parseAppleConfig({})), deps()))
  t.teardown(async () => { await Promise.all([a.close(), b.close()]) })
  return { sim, a, b }
}

async function notFoundOf (promise: Promise<unknown>): Promise<NotFoundError> {
  const error = await promise.then(() => undefined, (error: unknown) => error)
  if (!(error instanceof NotFoundError)) throw new Error(`expected a NotFoundError, got ${String(error)}`)
  return error
}

async function direct (sim: RunningAppleTeams, team: number, path: string): Promise<{ status: number, headers: Record<string, unknown>, body: any }> {
  const res = await request(`${sim.baseUrl}${path}`, { headers: { authorization: `Bearer ${await sim.teams[team].token()}` } })
  return { status: res.statusCode, headers: res.headers, body: await res.body.json() }
}

t.test('each key lists only its own apps, builds and groups', async (t) => {
  const { sim, a, b } = await twoAccounts(t)
  t.same(sim.teams.map((team) => team.apps), [[APPLE_APP], [APPLE_SMALL_APP]], 'the default split: A has Acme Chat, B Acme Notes')
  t.not(sim.teams[0].credentials.keyId, sim.teams[1].credentials.keyId)
  const context = internalContext()
  const apps = directory('apple.apps.directory')
  t.same((await a.fetchDirectory?.(apps, '', {}, context))?.items.map((item) => [item.id, item.name]), [[APPLE_APP, 'Acme Chat']])
  t.same((await b.fetchDirectory?.(apps, '', {}, context))?.items.map((item) => [item.id, item.name]), [[APPLE_SMALL_APP, 'Acme Notes']])

  const builds = directory('apple.apps.builds')
  t.same((await a.fetchDirectory?.(builds, APPLE_APP, {}, context))?.items.map((item) => item.id),
    ['ace4f47a-60ae-4ed6-954f-c4e61c7baab0', '2f5c4b0e-9d1a-4c3e-8f7b-1a2b3c4d5e6f'], 'team A: Acme Chat’s two builds')
  t.same((await b.fetchDirectory?.(builds, APPLE_SMALL_APP, {}, context))?.items.map((item) => item.id), [BUILD_B])
  t.same((await b.fetchDirectory?.(builds, APPLE_APP, {}, context))?.items, [], 'the other team’s app has no builds to B, as an app that does not exist')
  t.same((await b.fetchDirectory?.(builds, '0', {}, context))?.items, [])

  const groups = directory('apple.apps.betaGroups')
  t.same((await a.fetchDirectory?.(groups, APPLE_APP, {}, context))?.items.map((item) => item.id), [GROUP_A])
  t.same((await b.fetchDirectory?.(groups, APPLE_SMALL_APP, {}, context))?.items.map((item) => item.id), [GROUP_B])
  t.same((await a.fetchDirectory?.(groups, APPLE_SMALL_APP, {}, context))?.items, [])
})

t.test('a build, group, app or tester of the other team is a 404 with the report routes’ sentence, as one that does not exist', async (t) => {
  const { a, b } = await twoAccounts(t)
  const context = internalContext()
  const cases: Array<[string, string, Record<string, string>, string]> = [
    ['apple.builds.betaBuildUsages', BUILD_B, {}, 'build'],
    ['apple.apps.betaTesterUsages', APPLE_SMALL_APP, {}, 'app'],
    ['apple.betaGroups.betaTesterUsages', GROUP_B, {}, 'betaGroup'],
    ['apple.betaGroups.publicLinkUsages', GROUP_B, {}, 'betaGroup'],
    // A tester of Acme Notes only: A cannot see it at all.
    ['apple.betaTesters.betaTesterUsages', TESTER_B, { appId: APPLE_SMALL_APP }, 'betaTester'],
    // The demo tester is in both apps; A sees it through its own app only.
    ['apple.betaTesters.betaTesterUsages', APPLE_DEMO.tester, { appId: APPLE_SMALL_APP }, 'betaTester']
  ]
  for (const [key, id, query, type] of cases) {
    const hidden = await notFoundOf(a.fetchReport(endpoint(key), id, query, context))
    t.equal(hidden.detail, `apple has no ${type} '${id}' (or this API key cannot see it).`, `${key} ${id}`)
    const missing = await notFoundOf(a.fetchReport(endpoint(key), 'f00dfeed', query, context))
    t.same([hidden.status, hidden.code, hidden.provider], [missing.status, missing.code, missing.provider], `${key}: hidden reads as missing`)
  }
  // What A cannot see, B can (the cases above are visibility, not missing data).
  t.equal((await b.fetchReport(endpoint('apple.builds.betaBuildUsages'), BUILD_B, {}, context)).provider, 'apple')
  t.equal((await b.fetchReport(endpoint('apple.betaGroups.publicLinkUsages'), GROUP_B, {}, context)).provider, 'apple')
  t.equal((await a.fetchReport(endpoint('apple.betaTesters.betaTesterUsages'), APPLE_DEMO.tester, { appId: APPLE_APP }, context)).provider, 'apple')
  await notFoundOf(b.fetchReport(endpoint('apple.betaTesters.betaTesterUsages'), APPLE_DEMO.tester, { appId: APPLE_APP }, context))
  t.equal((await b.fetchReport(endpoint('apple.betaTesters.betaTesterUsages'), APPLE_DEMO.tester, { appId: APPLE_SMALL_APP }, context)).provider, 'apple',
    'the shared tester, through B’s own app')
})

t.test('labels follow the same visibility: the other team’s app, build, group and testers have no name', async (t) => {
  const { a, b } = await twoAccounts(t)
  const context = internalContext()
  t.same(await a.labels?.('app', [APPLE_APP, APPLE_SMALL_APP], context), { found: { [APPLE_APP]: { name: 'Acme Chat', bundleId: 'com.acme.chat' } }, failed: false })
  t.same(Object.keys((await b.labels?.('build', [APPLE_BUILD, BUILD_B], context))?.found ?? {}), [BUILD_B])
  t.same(Object.keys((await a.labels?.('betaGroup', [GROUP_A, GROUP_B], context))?.found ?? {}), [GROUP_A])
  const testers = await b.labels?.('betaTester', [TESTER_A, APPLE_DEMO.tester], context)
  t.same(Object.keys(testers?.found ?? {}), [APPLE_DEMO.tester], 'B sees the shared tester, not the one of Acme Chat only')
  t.equal(testers?.failed, false)
})

t.test('parentOf: the app of a build or group as one key sees it, one call on that key', async (t) => {
  const { sim, a, b } = await twoAccounts(t)
  const context = internalContext()
  const [keyA, keyB] = sim.teams.map((team) => team.credentials.keyId)
  t.equal(await a.parentOf?.('build', APPLE_BUILD, context), APPLE_APP)
  t.equal(await a.parentOf?.('betaGroup', GROUP_A, context), APPLE_APP)
  t.equal(await b.parentOf?.('build', BUILD_B, context), APPLE_SMALL_APP)
  t.equal(await b.parentOf?.('betaGroup', GROUP_B, context), APPLE_SMALL_APP)
  t.same(sim.callsByKey[keyA], [`/v1/builds/${APPLE_BUILD}/relationships/app`, `/v1/betaGroups/${GROUP_A}/relationships/app`])
  t.same(sim.callsByKey[keyB], [`/v1/builds/${BUILD_B}/relationships/app`, `/v1/betaGroups/${GROUP_B}/relationships/app`])
  t.equal(context.tally.calls, 4, 'each answer charged to the request’s context')

  const hiddenBuild = await notFoundOf(b.parentOf!('build', APPLE_BUILD, context))
  t.equal(hiddenBuild.detail, `apple has no build '${APPLE_BUILD}' (or this API key cannot see it).`)
  const hiddenGroup = await notFoundOf(a.parentOf!('betaGroup', GROUP_B, context))
  t.equal(hiddenGroup.detail, `apple has no betaGroup '${GROUP_B}' (or this API key cannot see it).`)
  await notFoundOf(a.parentOf!('build', 'no-such-build', context))
  t.equal(sim.callsByKey[keyB].length, 3, 'a 404 costs one call too')

  await t.rejects(a.parentOf!('betaTester', APPLE_DEMO.tester, context), { name: 'Error', message: /betaTester/ }, 'testers have no single app: a programming error')
  await t.rejects(a.parentOf!('app', APPLE_APP, context), { name: 'Error' })
  t.equal(sim.callsByKey[keyA].length, 4, 'no upstream call for a type without a parent')
})

t.test('parentOf: a 200 that is not an app linkage is an invalid upstream response', async (t) => {
  const bodies: Record<string, unknown> = {
    '/v1/builds/wrong-type/relationships/app': { data: { type: 'builds', id: 'x' }, links: { self: '/x' } },
    '/v1/builds/no-data/relationships/app': { links: { self: '/x' } },
    '/v1/betaGroups/list/relationships/app': { data: [{ type: 'apps', id: '1' }], links: { self: '/x' } }
  }
  const baseUrl = await loopbackUpstream(t, (req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(bodies[req.url ?? ''] ?? { data: { type: 'apps', id: '42' }, links: { self: req.url } }))
  })
  const sim = await startAppleTeams()
  t.teardown(sim.close)
  const source = apple.createSource({ ...sim.teams[0].configure(parseAppleConfig({})), baseUrl }, deps())
  t.teardown(async () => { await source.close() })
  const context = internalContext()
  t.equal(await source.parentOf?.('build', 'fine', context), '42')
  for (const [type, id] of [['build', 'wrong-type'], ['build', 'no-data'], ['betaGroup', 'list']]) {
    await t.rejects(source.parentOf!(type, id, context), UpstreamInvalidResponseError, `${type} ${id}`)
  }
})

t.test('each key has its own hourly quota and its own call count', async (t) => {
  const { sim, a, b } = await twoAccounts(t, { hourlyLimit: 100 })
  const [keyA, keyB] = sim.teams.map((team) => team.credentials.keyId)
  const context = internalContext()
  for (let i = 0; i < 3; i++) await a.fetchReport(endpoint('apple.builds.betaBuildUsages'), APPLE_BUILD, {}, context)
  await b.fetchReport(endpoint('apple.builds.betaBuildUsages'), BUILD_B, {}, context)
  t.same(a.quota?.(), { [keyA]: { 'user-hour-lim': 100, 'user-hour-rem': 97 } })
  t.same(b.quota?.(), { [keyB]: { 'user-hour-lim': 100, 'user-hour-rem': 99 } }, 'A’s calls do not spend B’s hour')
  t.equal(sim.callsByKey[keyA].length, 3)
  t.same(sim.callsByKey[keyB], [`/v1/builds/${BUILD_B}/metrics/betaBuildUsages`])

  // Straight to the simulator: the header is per key, and a key's 429 leaves the other alone.
  const small = await startAppleTeams({ hourlyLimit: 2 })
  t.teardown(small.close)
  t.match((await direct(small, 0, '/v1/apps')).headers['x-rate-limit'], 'user-hour-rem:1;')
  t.equal((await direct(small, 0, '/v1/apps')).status, 200)
  const refused = await direct(small, 0, '/v1/apps')
  t.equal(refused.status, 429)
  t.equal(refused.body.errors[0].code, 'RATE_LIMIT_EXCEEDED')
  const other = await direct(small, 1, '/v1/apps')
  t.equal(other.status, 200)
  t.match(other.headers['x-rate-limit'], 'user-hour-rem:1;')
  t.same(Object.values(small.callsByKey).map((calls) => calls.length), [3, 1])
})

t.test('the simulator: a hidden id reads exactly as a missing one, a token of an unknown key is a 401', async (t) => {
  const sim = await startAppleTeams({ style: 'schema' })
  t.teardown(sim.close)
  const paths = (id: string): string[] => [
    `/v1/apps/${id}`, `/v1/builds/${id}`, `/v1/betaGroups/${id}`, `/v1/builds/${id}/relationships/app`,
    `/v1/betaGroups/${id}/relationships/app`, `/v1/builds/${id}/metrics/betaBuildUsages`,
    `/v1/apps/${id}/metrics/betaTesterUsages?groupBy=betaTesters`, `/v1/betaGroups/${id}/metrics/publicLinkUsages`
  ]
  const hidden = { [APPLE_SMALL_APP]: 'apps', [BUILD_B]: 'builds', [GROUP_B]: 'betaGroups' }
  for (const [id, type] of Object.entries(hidden)) {
    for (const path of paths(id).filter((path) => path.startsWith(`/v1/${type}/`))) {
      const answer = await direct(sim, 0, path)
      const missing = await direct(sim, 0, path.replace(id, 'missing'))
      t.equal(answer.status, 404, path)
      t.same({ ...answer.body.errors[0], id: null, detail: answer.body.errors[0].detail.replace(id, 'ID') },
        { ...missing.body.errors[0], id: null, detail: missing.body.errors[0].detail.replace('missing', 'ID') }, `${path}: as a missing id`)
    }
  }
  t.equal((await direct(sim, 0, `/v1/betaTesters/${TESTER_A}/metrics/betaTesterUsages?filter[apps]=${APPLE_SMALL_APP}`)).status, 404, 'a tester of A’s app, asked through B’s app by A')
  t.equal((await direct(sim, 1, `/v1/betaTesters/${TESTER_A}/metrics/betaTesterUsages?filter[apps]=${APPLE_SMALL_APP}`)).status, 404, 'B cannot see a tester of A’s app only')
  t.equal((await direct(sim, 0, `/v1/betaTesters/${TESTER_A}/metrics/betaTesterUsages?filter[apps]=${APPLE_APP}`)).status, 200)
  const testers = await direct(sim, 1, `/v1/betaTesters?filter[id]=${TESTER_A},${APPLE_DEMO.tester}`)
  t.same(testers.body.data.map((tester: { id: string }) => tester.id), [APPLE_DEMO.tester])
  t.equal((await direct(sim, 1, '/v1/betaTesters?limit=200')).body.meta.paging.total, APPLE_DEMO.apps[APPLE_SMALL_APP], 'B sees only Acme Notes’ testers')
  t.same((await direct(sim, 0, `/v1/builds/${APPLE_BUILD}/relationships/app`)).body.data, { type: 'apps', id: APPLE_APP })

  const foreign = await startAppleTeams({ apps: [[APPLE_APP]] })
  t.teardown(foreign.close)
  const res = await request(`${sim.baseUrl}/v1/apps`, { headers: { authorization: `Bearer ${await foreign.teams[0].token()}` } })
  t.equal(res.statusCode, 401, 'a key of another simulator, whatever its key id')
  await res.body.dump()
})

t.test('through the gateway: the other team’s build is the same 404 problem as a build that does not exist', async (t) => {
  const sim = await startAppleTeams()
  t.teardown(sim.close)
  const config = loadConfig({ LOG_LEVEL: 'info' })
  const { app } = await gateway(t, { config: { ...config, providers: { ...config.providers, apple: sim.teams[0].configure(config.providers.apple) } } })
  const hidden = await app.inject(`/usage/apple/builds/${BUILD_B}`)
  const missing = await app.inject('/usage/apple/builds/f00dfeed')
  t.equal(hidden.statusCode, 404)
  t.equal(hidden.headers['content-type'], 'application/problem+json; charset=utf-8')
  // Everything but the id (in the sentence and the instance) and the request's own id.
  const { detail, instance, requestId, ...rest } = hidden.json()
  const { detail: missingDetail, instance: missingInstance, requestId: missingRequestId, ...missingRest } = missing.json()
  t.same([instance, missingInstance], [`/usage/apple/builds/${BUILD_B}`, '/usage/apple/builds/f00dfeed'])
  t.not(requestId, missingRequestId)
  t.same(rest, missingRest)
  t.equal(detail, `apple has no build '${BUILD_B}' (or this API key cannot see it).`)
  t.equal(missingDetail, "apple has no build 'f00dfeed' (or this API key cannot see it).")
  t.equal((await app.inject(`/usage/apple/builds/${APPLE_BUILD}`)).statusCode, 200)
  t.same((await app.inject('/usage/apple/apps')).json().items.map((item: { id: string }) => item.id), [APPLE_APP])
})

/**
 * Issue 14 on the Apple side: two App Store Connect teams (two keys on one
 * simulator, each seeing only its own app) as two named accounts, and API
 * keys scoped to an account or to one app.
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { startAppleTeams, type RunningAppleTeams } from '../providers/apple/index.js'
import { testersOf } from '../providers/apple/simulator.js'
import { loadConfig } from '../providers/index.js'
import { APPLE_APP, APPLE_BUILD, APPLE_SMALL_APP, gateway } from './helpers.js'

/** Team B's (Acme Notes) build and group; APPLE_APP, APPLE_BUILD and group …0001 are team A's (Acme Chat). */
const BUILD_B = '7e9d8c7b-6a5f-4e3d-9c2b-0a1b2c3d4e5f'
const GROUP_B = 'a1b2c3d4-0000-4000-8000-000000000002'
const MISSING_BUILD = 'ffffffff-0000-4000-8000-000000000000'
const TESTER_B = testersOf(APPLE_SMALL_APP)[5]

const sha256 = (key: string): string => createHash('sha256').update(key).digest('hex')
const newKey = (): string => `gw_${randomBytes(16).toString('hex')}`
const KEYS = { ops: newKey(), brandA: newKey(), notes: newKey() }
const as = (key: string): Record<string, string> => ({ 'x-api-key': key })

interface TwoTeams {
  app: Awaited<ReturnType<typeof gateway>>['app']
  rawLogs: string[]
  sim: RunningAppleTeams
  /** Upstream calls made with each account's key so far. */
  calls: (account: 'brand-a' | 'brand-b', path?: RegExp) => number
}

/** `brand-a` (its key in a variable) and `brand-b` (in a file) on one simulator, and keys for both, for brand-a, for Acme Notes. */
async function twoTeams (t: Test, options: { hourlyLimit?: number, env?: Record<string, string> } = {}): Promise<TwoTeams> {
  const sim = await startAppleTeams({ hourlyLimit: options.hourlyLimit })
  t.teardown(sim.close)
  const [teamA, teamB] = sim.teams
  const dir = mkdtempSync(join(tmpdir(), 'apple-accounts-'))
  writeFileSync(join(dir, 'brand-b.p8'), teamB.credentials.privateKeyPem)
  const path = join(dir, 'accounts.json')
  writeFileSync(path, JSON.stringify({
    apple: {
      'brand-a': { issuerId: teamA.credentials.issuerId, keyId: teamA.credentials.keyId, privateKeyEnv: 'BRAND_A_P8' },
      'brand-b': { issuerId: teamB.credentials.issuerId, keyId: teamB.credentials.keyId, privateKeyPath: join(dir, 'brand-b.p8') }
    },
    apiKeys: {
      ops: { sha256: sha256(KEYS.ops), scopes: ['*'] },
      brandA: { sha256: sha256(KEYS.brandA), scopes: ['apple:brand-a'] },
      notes: { sha256: sha256(KEYS.notes), scopes: [`apple:brand-b/${APPLE_SMALL_APP}`] }
    }
  }))
  const env = { ACCOUNTS_FILE: path, APPLE_BASE_URL: sim.baseUrl, BRAND_A_P8: teamA.credentials.privateKeyPem, ...options.env }
  const { app, rawLogs } = await gateway(t, { config: loadConfig({ LOG_LEVEL: 'info', ...env }), env })
  const keyOf = { 'brand-a': teamA.credentials.keyId, 'brand-b': teamB.credentials.keyId }
  return { app, rawLogs, sim, calls: (account, pattern = /./) => sim.callsByKey[keyOf[account]].filter((call) => pattern.test(call)).length }
}

function problemOf (body: string): Record<string, unknown> {
  const { requestId, instance, ...rest } = JSON.parse(body) as Record<string, unknown>
  return rest
}

t.test("a build's owner is found by asking each account once, and remembered", async (t) => {
  const { app, calls } = await twoTeams(t)
  const res = await app.inject({ url: `/usage/apple/builds/${BUILD_B}`, headers: as(KEYS.ops) })
  t.equal(res.statusCode, 200)
  t.equal(res.json().account, 'brand-b')
  t.equal(calls('brand-a', /relationships/), 1, 'brand-a was asked once (and said 404)')
  t.equal(calls('brand-b', /relationships/), 1, 'brand-b was asked once and owns it')
  t.equal(calls('brand-a', /metrics/), 0, "the report came from brand-b's key only")

  // A beta group: both of its routes find it once.
  for (const route of ['beta-testers?limit=5', 'public-link']) {
    const group = await app.inject({ url: `/usage/apple/beta-groups/${GROUP_B}/${route}`, headers: as(KEYS.ops) })
    t.equal(group.statusCode, 200, route)
    t.equal(group.json().account, 'brand-b')
  }
  t.equal(calls('brand-b', /betaGroups\/[^/]+\/relationships/), 1, 'the second route of the group asks nobody: the owner is remembered')

  // A build nobody has: every account says so once; asking again costs nothing.
  const missing = await app.inject({ url: `/usage/apple/builds/${MISSING_BUILD}`, headers: as(KEYS.ops) })
  t.equal(missing.statusCode, 404)
  t.match(missing.json(), { code: 'not_found', detail: `apple has no build '${MISSING_BUILD}' (or this API key cannot see it).` })
  const before = calls('brand-a') + calls('brand-b')
  t.equal((await app.inject({ url: `/usage/apple/builds/${MISSING_BUILD}`, headers: as(KEYS.ops) })).statusCode, 404)
  t.equal(calls('brand-a') + calls('brand-b'), before, "each account's 404 is remembered")
})

t.test("an app's owner comes from each account's app directory (one call per account, cached)", async (t) => {
  const { app, calls } = await twoTeams(t)
  const res = await app.inject({ url: `/usage/apple/apps/${APPLE_SMALL_APP}/beta-testers?limit=5`, headers: as(KEYS.ops) })
  t.equal(res.statusCode, 200)
  t.equal(res.json().account, 'brand-b')
  const chat = await app.inject({ url: `/usage/apple/apps/${APPLE_APP}/beta-testers?limit=5`, headers: as(KEYS.ops) })
  t.equal(chat.json().account, 'brand-a')
  t.equal(calls('brand-a', /^\/v1\/apps$/), 1)
  t.equal(calls('brand-b', /^\/v1\/apps$/), 1)
  const tester = await app.inject({ url: `/usage/apple/beta-testers/${TESTER_B}?appId=${APPLE_SMALL_APP}`, headers: as(KEYS.ops) })
  t.equal(tester.statusCode, 200, 'a tester is found through the app it is asked about')
  t.equal(tester.json().account, 'brand-b')
  const named = await app.inject({ url: `/usage/apple/apps/${APPLE_SMALL_APP}/beta-testers?limit=5&account=brand-a`, headers: as(KEYS.ops) })
  t.equal(named.statusCode, 404, 'account= asks that account only: brand-a cannot see Acme Notes')
})

t.test('a key scoped to brand-a: the other team is a 404 like a build that does not exist, and a 403 for account=', async (t) => {
  const { app, calls } = await twoTeams(t)
  const hidden = await app.inject({ url: `/usage/apple/builds/${BUILD_B}`, headers: as(KEYS.brandA) })
  const missing = await app.inject({ url: `/usage/apple/builds/${MISSING_BUILD}`, headers: as(KEYS.brandA) })
  t.equal(hidden.statusCode, 404)
  t.same(problemOf(hidden.body), JSON.parse(JSON.stringify(problemOf(missing.body)).replaceAll(MISSING_BUILD, BUILD_B)), 'no existence oracle')
  t.equal(calls('brand-b'), 0, "brand-b's key is never used for this key")
  const forbidden = await app.inject({ url: `/usage/apple/builds/${APPLE_BUILD}?account=brand-b`, headers: as(KEYS.brandA) })
  t.equal(forbidden.statusCode, 403)
  t.match(forbidden.json(), { code: 'forbidden', parameter: 'account' })
  const apps = (await app.inject({ url: '/usage/apple/apps', headers: as(KEYS.brandA) })).json()
  t.same(apps.items.map((item: { id: string, account: string }) => [item.id, item.account]), [[APPLE_APP, 'brand-a']])
  const all = (await app.inject({ url: '/usage/apple/apps', headers: as(KEYS.ops) })).json()
  t.same(all.items.map((item: { id: string, account: string }) => [item.id, item.account]), [[APPLE_APP, 'brand-a'], [APPLE_SMALL_APP, 'brand-b']])
})

t.test('a key scoped to one app sees it and what belongs to it, nothing else', async (t) => {
  const { app, calls } = await twoTeams(t)
  t.equal((await app.inject({ url: `/usage/apple/apps/${APPLE_SMALL_APP}/beta-testers?limit=5`, headers: as(KEYS.notes) })).statusCode, 200)
  t.equal((await app.inject({ url: `/usage/apple/builds/${BUILD_B}`, headers: as(KEYS.notes) })).statusCode, 200, "the app's build")
  t.equal((await app.inject({ url: `/usage/apple/beta-groups/${GROUP_B}/public-link`, headers: as(KEYS.notes) })).statusCode, 200, "the app's group")
  t.equal((await app.inject({ url: `/usage/apple/beta-testers/${TESTER_B}?appId=${APPLE_SMALL_APP}`, headers: as(KEYS.notes) })).statusCode, 200, 'a tester of the app')
  t.equal((await app.inject({ url: `/usage/apple/beta-testers/${TESTER_B}?appId=${APPLE_APP}`, headers: as(KEYS.notes) })).statusCode, 404, 'a tester seen through another app')
  t.equal((await app.inject({ url: `/usage/apple/builds/${APPLE_BUILD}`, headers: as(KEYS.notes) })).statusCode, 404, "the other team's build")
  t.equal((await app.inject({ url: `/usage/apple/apps/${APPLE_APP}/builds`, headers: as(KEYS.notes) })).statusCode, 404)
  t.equal(calls('brand-a'), 0, "brand-a's key is never used for a key that may not use brand-a")
  const usages = (await app.inject({ url: `/usage/apple/apps/${APPLE_SMALL_APP}/build-usages`, headers: as(KEYS.notes) })).json()
  t.equal(usages.account, 'brand-b')
  t.same(usages.data.map((point: { dimensions: Record<string, string> }) => point.dimensions), [{ build: BUILD_B, account: 'brand-b' }], "the fan-out's points carry the account")
})

t.test('labels are looked up with the key of the account that answered', async (t) => {
  const { app } = await twoTeams(t)
  const res = await app.inject({ url: `/usage/apple/builds/${BUILD_B}?labels=true`, headers: as(KEYS.ops) })
  t.equal(res.statusCode, 200)
  t.equal(res.json().labelsIncomplete, false)
  t.equal(res.json().labels.build[BUILD_B].name, '2.0 (31)')
})

t.test("each account keeps its own Apple quota: one team's key spent does not stop the other's", async (t) => {
  const { app, rawLogs } = await twoTeams(t, { hourlyLimit: 3, env: { APPLE_QUOTA_RESERVE: '0' } })
  const statuses: number[] = []
  for (const limit of [1, 2, 3, 4, 5, 6]) statuses.push((await app.inject({ url: `/usage/apple/apps/${APPLE_APP}/beta-testers?limit=${limit}&account=brand-a`, headers: as(KEYS.ops) })).statusCode)
  t.equal(statuses.at(-1), 429, "brand-a's hour is spent")
  const other = await app.inject({ url: `/usage/apple/apps/${APPLE_SMALL_APP}/beta-testers?limit=5&account=brand-b`, headers: as(KEYS.ops) })
  t.equal(other.statusCode, 200, 'brand-b still answers')
  const metrics = (await app.inject('/metrics')).body
  t.match(metrics, /gateway_apple_quota_remaining\{key="brand-a\/TEAMAKEY01",figure="user-hour-rem"\} 0/)
  t.match(metrics, /gateway_apple_quota_remaining\{key="brand-b\/TEAMBKEY01",figure="user-hour-rem"\} 2/)
  const lines = rawLogs.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.msg === 'request' && line.route !== '/metrics')
  t.match(lines.at(-1), { caller: 'ops', account: 'brand-b', statusCode: 200 }, 'the log line names the account')
})

/**
 * Issue 14, adversarial: a narrowly scoped API key (or a careless operator)
 * trying to learn something outside the key's scopes, through owner memory,
 * refusal memory, revalidation, HEAD, error details, metrics, labels and reloads.
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { startAppleTeams, type RunningAppleTeams } from '../providers/apple/index.js'
import { APPLE_DEMO } from '../providers/apple/simulator.js'
import { loadConfig } from '../providers/index.js'
import { APPLE_APP, APPLE_SMALL_APP, gateway, GUPSHUP_APP, startSims } from './helpers.js'

/** Team B's (Acme Notes) build; APPLE_APP is Acme Chat. */
const BUILD_B = '7e9d8c7b-6a5f-4e3d-9c2b-0a1b2c3d4e5f'
const MISSING_BUILD = 'ffffffff-0000-4000-8000-000000000000'
/** The demo tester: a tester of every demo app. */
const SHARED_TESTER = APPLE_DEMO.tester
const OTHER_GUPSHUP_APP = '5e6f7a8b-1c2d-4e3f-9a0b-c1d2e3f4a5b6'
const MISSING_GUPSHUP_APP = '00000000-0000-4000-8000-000000000000'

const sha256 = (key: string): string => createHash('sha256').update(key).digest('hex')
const newKey = (): string => `gw_${randomBytes(16).toString('hex')}`
const as = (key: string): Record<string, string> => ({ 'x-api-key': key })

type App = Awaited<ReturnType<typeof gateway>>['app']

interface AppleTeams {
  app: App
  rawLogs: string[]
  sim: RunningAppleTeams
  keys: Record<string, string>
  /** Upstream calls made with each account's key so far. */
  calls: (account: 'brand-a' | 'brand-b') => number
}

/**
 * `brand-a` and `brand-b`, two App Store Connect teams on one simulator
 * (`apps`: what each team's key sees), and a key per entry of `scopes`.
 */
async function appleTeams (t: Test, apps: string[][], scopes: Record<string, string[]>): Promise<AppleTeams> {
  const sim = await startAppleTeams({ apps })
  t.teardown(sim.close)
  const [teamA, teamB] = sim.teams
  const dir = mkdtempSync(join(tmpdir(), 'accounts-audit-'))
  writeFileSync(join(dir, 'brand-b.p8'), teamB.credentials.privateKeyPem)
  const keys = Object.fromEntries(Object.keys(scopes).map((name) => [name, newKey()]))
  const path = join(dir, 'accounts.json')
  writeFileSync(path, JSON.stringify({
    apple: {
      'brand-a': { issuerId: teamA.credentials.issuerId, keyId: teamA.credentials.keyId, privateKeyEnv: 'BRAND_A_P8' },
      'brand-b': { issuerId: teamB.credentials.issuerId, keyId: teamB.credentials.keyId, privateKeyPath: join(dir, 'brand-b.p8') }
    },
    apiKeys: Object.fromEntries(Object.entries(scopes).map(([name, list]) => [name, { sha256: sha256(keys[name]), scopes: list }]))
  }))
  const env = { ACCOUNTS_FILE: path, APPLE_BASE_URL: sim.baseUrl, BRAND_A_P8: teamA.credentials.privateKeyPem }
  const { app, rawLogs } = await gateway(t, { config: loadConfig({ LOG_LEVEL: 'info', ...env }), env })
  const keyIdOf = { 'brand-a': teamA.credentials.keyId, 'brand-b': teamB.credentials.keyId }
  return { app, rawLogs, sim, keys, calls: (account) => sim.callsByKey[keyIdOf[account]].length }
}

/** A problem without what differs between any two requests (its id and path). */
function problemOf (body: string): Record<string, unknown> {
  const { requestId, instance, ...rest } = JSON.parse(body) as Record<string, unknown>
  return rest
}

t.test("a tester's remembered owner does not open another app of that account to a key scoped to one of its apps", async (t) => {
  // brand-a sees both demo apps, brand-b only Acme Notes; `notes` may see Acme Notes in brand-a, and all of brand-b.
  const { app, keys, rawLogs } = await appleTeams(t, [[APPLE_APP, APPLE_SMALL_APP], [APPLE_SMALL_APP]], {
    ops: ['*'],
    notes: [`apple:brand-a/${APPLE_SMALL_APP}`, 'apple:brand-b']
  })
  const chat = `/usage/apple/beta-testers/${SHARED_TESTER}?appId=${APPLE_APP}`
  const before = await app.inject({ url: chat, headers: as(keys.notes) })
  t.equal(before.statusCode, 404, 'Acme Chat is not the key\'s to see')
  // Anyone (here ops) asks about the tester through Acme Notes: its owner, brand-a, is remembered.
  const notes = await app.inject({ url: `/usage/apple/beta-testers/${SHARED_TESTER}?appId=${APPLE_SMALL_APP}`, headers: as(keys.ops) })
  t.equal(notes.statusCode, 200)
  t.equal(notes.json().account, 'brand-a')
  const after = await app.inject({ url: chat, headers: as(keys.notes) })
  t.equal(after.statusCode, 404, 'still a 404: the remembered owner is not a pass to another app')
  t.same(problemOf(after.body), problemOf(before.body), 'and the same 404 as before')
  t.notMatch(after.body, /"data"/)
  // The tester's name (the demo tester is Ada Lovelace) is an answer's, never a log line's.
  const named = await app.inject({ url: `/usage/apple/beta-testers/${SHARED_TESTER}?appId=${APPLE_SMALL_APP}&labels=true`, headers: as(keys.notes) })
  t.match(named.body, /Lovelace/)
  t.notMatch(rawLogs.join('\n'), /Lovelace|ada@example\.com/)
})

t.test('a subject another account owns costs the key the same upstream calls as one that does not exist', async (t) => {
  // `chat` may see one app of brand-a only, so its owner lookups go through the memory.
  const { app, keys, calls } = await appleTeams(t, [[APPLE_APP], [APPLE_SMALL_APP]], {
    chat: [`apple:brand-a/${APPLE_APP}`],
    notes: [`apple:brand-b/${APPLE_SMALL_APP}`]
  })
  // Someone else's key finds BUILD_B in brand-b (brand-a is never asked): its owner is remembered.
  t.equal((await app.inject({ url: `/usage/apple/builds/${BUILD_B}`, headers: as(keys.notes) })).statusCode, 200)
  const start = calls('brand-a')
  const missing = await app.inject({ url: `/usage/apple/builds/${MISSING_BUILD}`, headers: as(keys.chat) })
  const afterMissing = calls('brand-a')
  const hidden = await app.inject({ url: `/usage/apple/builds/${BUILD_B}`, headers: as(keys.chat) })
  const afterHidden = calls('brand-a')
  t.equal(missing.statusCode, 404)
  t.equal(hidden.statusCode, 404)
  t.same(problemOf(hidden.body), JSON.parse(JSON.stringify(problemOf(missing.body)).replaceAll(MISSING_BUILD, BUILD_B)))
  t.equal(afterHidden - afterMissing, afterMissing - start,
    'the hidden build is asked of brand-a like a missing one: its 404 is not free (no oracle in timing, budget or /metrics)')
})

t.test('an account name given other credentials (SIGHUP) never answers from what the previous ones fetched', async (t) => {
  const sim = await startAppleTeams({})
  t.teardown(sim.close)
  const [teamA, teamB] = sim.teams
  const dir = mkdtempSync(join(tmpdir(), 'accounts-audit-'))
  const account = (team: typeof teamA, file: string): Record<string, string> => {
    writeFileSync(join(dir, file), team.credentials.privateKeyPem)
    return { issuerId: team.credentials.issuerId, keyId: team.credentials.keyId, privateKeyPath: join(dir, file) }
  }
  const key = newKey()
  const apiKeys = { client: { sha256: sha256(key), scopes: ['apple:client'] } }
  const path = join(dir, 'accounts.json')
  writeFileSync(path, JSON.stringify({ apple: { client: account(teamA, 'a.p8') }, apiKeys }))
  const env = { ACCOUNTS_FILE: path, APPLE_BASE_URL: sim.baseUrl }
  const { app } = await gateway(t, { config: loadConfig({ LOG_LEVEL: 'info', ...env }), env })
  const chat = `/usage/apple/apps/${APPLE_APP}/beta-testers?limit=2`
  t.same((await app.inject({ url: '/usage/apple/apps', headers: as(key) })).json().items.map((item: { id: string }) => item.id), [APPLE_APP])
  t.equal((await app.inject({ url: chat, headers: as(key) })).statusCode, 200)
  // The agency's client changes: the account `client` is now the other team, and its key is handed to them.
  writeFileSync(path, JSON.stringify({ apple: { client: account(teamB, 'b.p8') }, apiKeys }))
  t.equal(app.reloadAccounts(), true)
  const apps = await app.inject({ url: '/usage/apple/apps', headers: as(key) })
  t.same(apps.json().items.map((item: { id: string }) => item.id), [APPLE_SMALL_APP], "the directory is the new team's, not the cached one")
  t.equal(apps.headers['x-cache'], 'MISS')
  const previous = await app.inject({ url: chat, headers: as(key) })
  t.equal(previous.statusCode, 404, "the previous team's cached report is not served")
  t.notMatch(previous.body, /"data"/)
})

interface GupshupAccounts { app: App, rawLogs: string[], path: string, document: Record<string, unknown>, keys: Record<string, string>, calls: () => number, tokens: string[] }

/** Two Gupshup accounts on one simulator: `main` holds GUPSHUP_APP, `finance` OTHER_GUPSHUP_APP; a key per entry of `scopes`. */
async function gupshupAccounts (t: Test, scopes: Record<string, string[]>): Promise<GupshupAccounts> {
  const sims = await startSims(t)
  const dir = mkdtempSync(join(tmpdir(), 'accounts-audit-'))
  writeFileSync(join(dir, 'finance-tokens.json'), JSON.stringify({ [OTHER_GUPSHUP_APP]: sims.gupshup.tokens[OTHER_GUPSHUP_APP] }))
  const keys = Object.fromEntries(Object.keys(scopes).map((name) => [name, newKey()]))
  const document = {
    gupshup: { main: { appTokensEnv: 'MAIN_TOKENS' }, finance: { appTokensPath: join(dir, 'finance-tokens.json') } },
    apiKeys: Object.fromEntries(Object.entries(scopes).map(([name, list]) => [name, { sha256: sha256(keys[name]), scopes: list }]))
  }
  const path = join(dir, 'accounts.json')
  writeFileSync(path, JSON.stringify(document))
  const env = { ACCOUNTS_FILE: path, GUPSHUP_BASE_URL: sims.gupshup.baseUrl, MAIN_TOKENS: JSON.stringify({ [GUPSHUP_APP]: sims.gupshup.tokens[GUPSHUP_APP] }) }
  const { app, rawLogs } = await gateway(t, { config: loadConfig({ LOG_LEVEL: 'info', ...env }), env })
  return { app, rawLogs, path, document, keys, calls: () => sims.gupshup.calls.length, tokens: Object.values(sims.gupshup.tokens) }
}

const daily = (app: string, query = 'from=2024-01-01&to=2024-01-03'): string => `/usage/gupshup/apps/${app}?${query}`
/** The headers that could tell two answers apart (not the date, the request id, the body's length or the inbound limit left). */
function telling (headers: Record<string, unknown>): Record<string, unknown> {
  const { date, 'x-request-id': requestId, 'content-length': length, 'x-ratelimit-remaining': remaining, ...rest } = headers
  return rest
}

t.test("another key's ETag, If-None-Match: * and HEAD get a hidden report's 404, never a 304 or its cache headers", async (t) => {
  const { app, keys } = await gupshupAccounts(t, { ops: ['*'], dash: ['gupshup:main'] })
  const fetched = await app.inject({ url: daily(OTHER_GUPSHUP_APP), headers: as(keys.ops) })
  t.equal(fetched.statusCode, 200)
  const etag = String(fetched.headers.etag)
  for (const ifNoneMatch of [etag, '*', `W/${etag}`]) {
    const res = await app.inject({ url: daily(OTHER_GUPSHUP_APP), headers: { ...as(keys.dash), 'if-none-match': ifNoneMatch } })
    t.equal(res.statusCode, 404, `If-None-Match: ${ifNoneMatch}`)
    t.equal(res.headers.etag, undefined)
  }
  const hidden = await app.inject({ method: 'HEAD', url: daily(OTHER_GUPSHUP_APP), headers: as(keys.dash) })
  const missing = await app.inject({ method: 'HEAD', url: daily(MISSING_GUPSHUP_APP), headers: as(keys.dash) })
  t.equal(hidden.statusCode, 404)
  t.same(telling(hidden.headers), telling(missing.headers), 'HEAD: the same headers (no X-Cache, Age, ETag or Retry-After) for hidden and missing')
  const csv = await app.inject({ url: daily(OTHER_GUPSHUP_APP), headers: { ...as(keys.dash), accept: 'text/csv' } })
  t.equal(csv.statusCode, 404, 'CSV too')
  t.notMatch(csv.body, /2024-01-0/)
})

t.test('account= with odd names: the same 403 for any account the key may not use, a 400 for a name that cannot be one', async (t) => {
  const { app, keys, calls } = await gupshupAccounts(t, { ops: ['*'], dash: ['gupshup:main'], one: [`gupshup:main/${GUPSHUP_APP}`] })
  const refusal = async (account: string, key = keys.dash): Promise<Record<string, unknown>> => {
    const res = await app.inject({ url: `${daily(GUPSHUP_APP)}&account=${encodeURIComponent(account)}`, headers: as(key) })
    return { status: res.statusCode, ...problemOf(res.body) }
  }
  const finance = await refusal('finance')
  t.match(finance, { status: 403, code: 'forbidden', parameter: 'account' })
  for (const name of ['nope', 'constructor', 'toString', 'Finance']) {
    t.same(await refusal(name), JSON.parse(JSON.stringify(finance).replaceAll("'finance'", `'${name}'`)), `account=${name}: as finance`)
  }
  for (const name of ['*', '', '__proto__', 'main/x', 'main:x', 'a'.repeat(65)]) {
    t.match(await refusal(name), { status: 400, code: 'invalid_parameter', parameter: 'account' }, `account=${name}`)
  }
  t.match(await refusal('finance', keys.one), { status: 403, parameter: 'account' }, 'a subject scope: another account is a 403 too')
  const mine = await app.inject({ url: '/usage/gupshup/apps?account=main', headers: as(keys.one) })
  t.same(mine.json().items.map((item: { id: string }) => item.id), [GUPSHUP_APP], "account= on a directory lists only the key's subjects of it")
  t.equal(calls(), 0, 'no upstream call for a refusal')
})

t.test('labels, fan-out and CSV: a key never sees an id or name of an account it may not use, even once the label cache holds it', async (t) => {
  const { app, keys } = await gupshupAccounts(t, { ops: ['*'], dash: ['gupshup:main'] })
  // ops fills the label cache with both accounts' apps.
  const everything = await app.inject({ url: '/usage/gupshup/usage?from=2024-01-01&to=2024-01-02&labels=true', headers: as(keys.ops) })
  t.equal(everything.statusCode, 200)
  const otherName = everything.json().labels.app[OTHER_GUPSHUP_APP].name as string
  t.type(otherName, 'string')
  for (const accept of ['application/json', 'text/csv']) {
    for (const url of ['/usage/gupshup/usage?from=2024-01-01&to=2024-01-02&labels=true', '/usage/gupshup/apps', `${daily(GUPSHUP_APP)}&labels=true`]) {
      const res = await app.inject({ url, headers: { ...as(keys.dash), accept } })
      t.equal(res.statusCode, 200, `${url} (${accept})`)
      t.notOk(res.body.includes(OTHER_GUPSHUP_APP) || res.body.includes(otherName) || res.body.includes('finance'), `${url} (${accept}): nothing of finance`)
    }
  }
  const catalog = await app.inject({ url: '/usage', headers: as(keys.dash) })
  t.notOk(catalog.body.includes('finance'), 'the catalog does not name the other account')
})

t.test('/metrics, /openapi.json and /docs stay open and name no subject, account, key or token, whoever asked what', async (t) => {
  const { app, keys, tokens, rawLogs } = await gupshupAccounts(t, { ops: ['*'], dash: ['gupshup:main'] })
  await app.inject({ url: '/usage/gupshup/usage?from=2024-01-01&to=2024-01-02&labels=true', headers: as(keys.ops) })
  await app.inject({ url: daily(OTHER_GUPSHUP_APP), headers: as(keys.dash) })
  await app.inject({ url: daily(MISSING_GUPSHUP_APP), headers: as(keys.dash) })
  const open = await Promise.all(['/metrics', '/openapi.json', '/docs/'].map(async (url) => await app.inject(url)))
  t.same(open.map((res) => res.statusCode), [200, 200, 200])
  const [metrics, openapi, docs] = open.map((res) => res.body)
  const secrets = [...Object.values(keys), ...tokens]
  for (const id of [GUPSHUP_APP, OTHER_GUPSHUP_APP, MISSING_GUPSHUP_APP, ...secrets]) t.notOk(metrics.includes(id), '/metrics: no subject id, key or token')
  for (const text of [openapi, docs]) {
    // (Their examples use the simulators' demo ids: the same in every deployment.)
    for (const secret of ['finance', '"main"', ...secrets]) t.notOk(text.includes(secret), 'the spec and the docs: no account name, key or token')
  }
  for (const secret of secrets) t.notOk(rawLogs.join('\n').includes(secret), 'no key or token in a log line')
})

t.test('a reload that narrows a key takes effect at once: no cached report, directory or owner answers it as before', async (t) => {
  const { app, keys, path, document } = await gupshupAccounts(t, { ops: ['*'], dash: ['gupshup:main', 'gupshup:finance'] })
  t.equal((await app.inject({ url: daily(OTHER_GUPSHUP_APP), headers: as(keys.dash) })).statusCode, 200)
  t.equal((await app.inject({ url: '/usage/gupshup/apps', headers: as(keys.dash) })).json().items.length, 2)
  const apiKeys = document.apiKeys as Record<string, { sha256: string, scopes: string[] }>
  writeFileSync(path, JSON.stringify({ ...document, apiKeys: { ...apiKeys, dash: { ...apiKeys.dash, scopes: [`gupshup:main/${GUPSHUP_APP}`] } } }))
  t.equal(app.reloadAccounts(), true)
  const hidden = await app.inject({ url: daily(OTHER_GUPSHUP_APP), headers: as(keys.dash) })
  t.equal(hidden.statusCode, 404)
  t.equal(hidden.headers['x-cache'], undefined)
  t.same((await app.inject({ url: '/usage/gupshup/apps', headers: as(keys.dash) })).json().items.map((item: { id: string }) => item.id), [GUPSHUP_APP])
  const usage = await app.inject({ url: '/usage/gupshup/usage?from=2024-01-01&to=2024-01-02', headers: as(keys.dash) })
  t.notOk(usage.body.includes(OTHER_GUPSHUP_APP), 'the fan-out covers only what the key may see now')
  t.equal((await app.inject({ url: `${daily(OTHER_GUPSHUP_APP)}&account=finance`, headers: as(keys.dash) })).statusCode, 403)
})

t.test('GATEWAY_AUTH=none with apiKeys in the accounts file refuses to start, and a reload cannot add keys to it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'accounts-audit-'))
  const path = join(dir, 'accounts.json')
  writeFileSync(path, JSON.stringify({ apiKeys: { ops: { sha256: sha256(newKey()), scopes: ['*'] } } }))
  t.throws(() => loadConfig({ ACCOUNTS_FILE: path, GATEWAY_AUTH: 'none' }), { name: 'ConfigError', message: /GATEWAY_AUTH.*ACCOUNTS_FILE.*has apiKeys/ })
  writeFileSync(path, JSON.stringify({}))
  const env = { ACCOUNTS_FILE: path, GATEWAY_AUTH: 'none' }
  const { app, rawLogs } = await gateway(t, { config: loadConfig({ LOG_LEVEL: 'info', ...env }), env, simulated: ['gupshup'] })
  writeFileSync(path, JSON.stringify({ apiKeys: { ops: { sha256: sha256(newKey()), scopes: ['gupshup'] } } }))
  t.equal(app.reloadAccounts(), false, 'a reload that would ignore its keys is refused')
  t.match(rawLogs.map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => line.msg === 'accounts not reloaded: the previous configuration stays'), { reason: /GATEWAY_AUTH/ })
})

t.test('reload edge cases: a scope naming a dropped account keeps what was; a provider left with no account answers 503, not a crash', async (t) => {
  const { app, keys, path, document, rawLogs } = await gupshupAccounts(t, { ops: ['*'], fin: ['gupshup:finance'] })
  const apiKeys = document.apiKeys as Record<string, unknown>
  writeFileSync(path, JSON.stringify({ ...document, gupshup: { main: { appTokensEnv: 'MAIN_TOKENS' } } }))
  t.equal(app.reloadAccounts(), false, "fin's scope names the account the file drops")
  t.match(rawLogs.map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => line.msg === 'accounts not reloaded: the previous configuration stays'),
    { reason: /apiKeys\.fin\.scopes\[0\] names an account gupshup does not have/ })
  t.equal((await app.inject({ url: daily(OTHER_GUPSHUP_APP), headers: as(keys.fin) })).statusCode, 200, 'fin still sees finance')

  writeFileSync(path, JSON.stringify({ apiKeys: { ops: apiKeys.ops } }))
  t.equal(app.reloadAccounts(), true)
  const none = await app.inject({ url: daily(GUPSHUP_APP), headers: as(keys.ops) })
  t.equal(none.statusCode, 503)
  t.equal(none.json().code, 'provider_not_configured')
  t.equal((await app.inject({ url: '/usage/gupshup/apps', headers: as(keys.ops) })).statusCode, 503)
  t.equal((await app.inject({ url: daily(GUPSHUP_APP), headers: as(keys.fin) })).statusCode, 401, 'the dropped key is refused')
  t.same((await app.inject({ url: '/usage', headers: as(keys.ops) })).json().providers.find((p: { name: string }) => p.name === 'gupshup').accounts, [])
})

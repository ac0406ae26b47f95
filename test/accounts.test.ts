/**
 * Issue 14: named accounts (ACCOUNTS_FILE) and API keys that see only their
 * scopes, on the Gupshup simulator: two accounts holding different apps.
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { Client } from 'undici'
import { loadConfig } from '../providers/index.js'
import { gateway, GUPSHUP_APP, overHttp, startSims } from './helpers.js'

const OTHER_APP = '5e6f7a8b-1c2d-4e3f-9a0b-c1d2e3f4a5b6'
const MISSING_APP = '00000000-0000-4000-8000-000000000000'

const sha256 = (key: string): string => createHash('sha256').update(key).digest('hex')
const newKey = (): string => `gw_${randomBytes(16).toString('hex')}`

/** A fresh directory for this test's accounts file and secrets. */
function scratch (): string {
  return mkdtempSync(join(tmpdir(), 'accounts-'))
}

const KEYS = { ops: newKey(), dash: newKey(), one: newKey(), fin: newKey() }

/** Two Gupshup accounts on one simulator: `main` holds GUPSHUP_APP (its tokens in a variable), `finance` OTHER_APP (in a file). */
async function twoAccounts (t: Test, extraKeys: Record<string, { sha256: string, scopes: string[] }> = {}): Promise<{ app: Awaited<ReturnType<typeof gateway>>['app'], rawLogs: string[], path: string, env: Record<string, string>, sims: Awaited<ReturnType<typeof startSims>>, document: Record<string, unknown> }> {
  const sims = await startSims(t)
  const dir = scratch()
  writeFileSync(join(dir, 'finance-tokens.json'), JSON.stringify({ [OTHER_APP]: sims.gupshup.tokens[OTHER_APP] }))
  const document = {
    gupshup: {
      main: { appTokensEnv: 'MAIN_TOKENS' },
      finance: { appTokensPath: join(dir, 'finance-tokens.json') }
    },
    apiKeys: {
      ops: { sha256: sha256(KEYS.ops), scopes: ['*'] },
      dash: { sha256: sha256(KEYS.dash), scopes: ['gupshup:main'] },
      one: { sha256: sha256(KEYS.one), scopes: [`gupshup:main/${GUPSHUP_APP}`] },
      fin: { sha256: sha256(KEYS.fin), scopes: ['gupshup:finance'] },
      ...extraKeys
    }
  }
  const path = join(dir, 'accounts.json')
  writeFileSync(path, JSON.stringify(document))
  const env = { ACCOUNTS_FILE: path, GUPSHUP_BASE_URL: sims.gupshup.baseUrl, MAIN_TOKENS: JSON.stringify({ [GUPSHUP_APP]: sims.gupshup.tokens[GUPSHUP_APP] }) }
  const config = loadConfig({ LOG_LEVEL: 'info', ...env })
  const gw = await gateway(t, { config, env })
  // Reloads read the file's variables from here.
  return { app: gw.app, rawLogs: gw.rawLogs, path, env, sims, document }
}

const as = (key: string): Record<string, string> => ({ 'x-api-key': key })
const daily = (app: string, query = 'from=2024-01-01&to=2024-01-03'): string => `/usage/gupshup/apps/${app}?${query}`

/** A problem without what differs between any two requests (its id and path). */
function problemOf (body: string): Record<string, unknown> {
  const { requestId, instance, ...rest } = JSON.parse(body) as Record<string, unknown>
  return rest
}

t.test('without account=, the account that holds the app answers, and the report says which', async (t) => {
  const { app, sims } = await twoAccounts(t)
  for (const [id, account] of [[GUPSHUP_APP, 'main'], [OTHER_APP, 'finance']]) {
    const res = await app.inject({ url: daily(id), headers: as(KEYS.ops) })
    t.equal(res.statusCode, 200, `${account}'s app`)
    t.equal(res.json().account, account)
  }
  t.equal(sims.gupshup.calls.length, 2, 'one upstream call per app: each account holds its own token')
  const named = await app.inject({ url: `${daily(OTHER_APP)}&account=finance`, headers: as(KEYS.ops) })
  t.equal(named.statusCode, 200)
  t.equal(named.headers['x-cache'], 'HIT', 'account= names the same cached report')
})

t.test('a key scoped to one account sees nothing else: a 404 like a missing app, and a 403 for account=', async (t) => {
  const { app, sims } = await twoAccounts(t)
  const hidden = await app.inject({ url: daily(OTHER_APP), headers: as(KEYS.dash) })
  const missing = await app.inject({ url: daily(MISSING_APP), headers: as(KEYS.ops) })
  t.equal(hidden.statusCode, 404)
  t.equal(missing.statusCode, 404)
  t.same(problemOf(hidden.body), JSON.parse(JSON.stringify(problemOf(missing.body)).replaceAll(MISSING_APP, OTHER_APP)),
    'the hidden app reads exactly as an app no account has (no existence oracle)')
  t.equal(hidden.headers['content-type'], missing.headers['content-type'])

  const forbidden = await app.inject({ url: `${daily(OTHER_APP)}&account=finance`, headers: as(KEYS.dash) })
  t.equal(forbidden.statusCode, 403)
  t.match(forbidden.json(), { code: 'forbidden', parameter: 'account' })
  t.notMatch(forbidden.json().detail, OTHER_APP, 'the 403 is about the account, not the app')
  const unknownForDash = await app.inject({ url: `${daily(GUPSHUP_APP)}&account=nope`, headers: as(KEYS.dash) })
  t.equal(unknownForDash.statusCode, 403, 'an account the key cannot use is a 403 whether or not it exists')
  const unknownForOps = await app.inject({ url: `${daily(GUPSHUP_APP)}&account=nope`, headers: as(KEYS.ops) })
  t.equal(unknownForOps.statusCode, 400, 'a key that may use every account is told the account does not exist')
  t.match(unknownForOps.json(), { code: 'invalid_parameter', parameter: 'account', detail: /'main', 'finance'/ })
  t.equal(sims.gupshup.calls.length, 0, 'no upstream call for any of it')
})

t.test('a subject scope sees that app and nothing else of its account', async (t) => {
  const { app } = await twoAccounts(t)
  t.equal((await app.inject({ url: daily(GUPSHUP_APP), headers: as(KEYS.one) })).statusCode, 200)
  t.equal((await app.inject({ url: `/usage/gupshup/apps/${GUPSHUP_APP}/wallet`, headers: as(KEYS.one) })).statusCode, 200, 'every route of the app')
  const other = await app.inject({ url: daily(OTHER_APP), headers: as(KEYS.one) })
  t.equal(other.statusCode, 404)
  t.equal(other.json().code, 'unknown_app')
  const directory = await app.inject({ url: '/usage/gupshup/apps', headers: as(KEYS.one) })
  t.same(directory.json().items.map((item: { id: string }) => item.id), [GUPSHUP_APP], 'the directory lists only the app it may see')
})

t.test('the cache never answers a key with a report fetched for a scope it lacks', async (t) => {
  const { app, sims } = await twoAccounts(t)
  const fetched = await app.inject({ url: daily(OTHER_APP), headers: as(KEYS.ops) })
  t.equal(fetched.headers['x-cache'], 'MISS')
  const calls = sims.gupshup.calls.length
  const refused = await app.inject({ url: daily(OTHER_APP), headers: as(KEYS.dash) })
  t.equal(refused.statusCode, 404)
  t.equal(refused.headers['x-cache'], undefined)
  t.notMatch(refused.body, /"data"/)
  const fin = await app.inject({ url: daily(OTHER_APP), headers: as(KEYS.fin) })
  t.equal(fin.headers['x-cache'], 'HIT', 'a key that may see it gets the cached report')
  t.equal(sims.gupshup.calls.length, calls)
})

t.test('directories, fan-out and the catalog list only what the key may see, and say whose it is', async (t) => {
  const { app } = await twoAccounts(t)
  const all = (await app.inject({ url: '/usage/gupshup/apps', headers: as(KEYS.ops) })).json()
  t.equal(all.account, null, 'several accounts')
  t.same(all.items.map((item: { id: string, account: string }) => [item.id, item.account]).sort(), [[GUPSHUP_APP, 'main'], [OTHER_APP, 'finance']].sort())
  const mine = (await app.inject({ url: '/usage/gupshup/apps', headers: as(KEYS.dash) })).json()
  t.equal(mine.account, 'main')
  t.same(mine.items.map((item: { id: string }) => item.id), [GUPSHUP_APP])
  const one = (await app.inject({ url: '/usage/gupshup/apps?account=finance', headers: as(KEYS.ops) })).json()
  t.same(one.items.map((item: { id: string }) => item.id), [OTHER_APP], 'account= lists one account')

  const usage = (await app.inject({ url: '/usage/gupshup/usage?from=2024-01-01&to=2024-01-02', headers: as(KEYS.ops) })).json()
  t.equal(usage.account, null)
  t.same(new Set(usage.data.map((point: { dimensions: Record<string, string> }) => `${point.dimensions.app}@${point.dimensions.account}`)),
    new Set([`${GUPSHUP_APP}@main`, `${OTHER_APP}@finance`]), 'fan-out covers every account the key may see; points carry the account')
  const scoped = (await app.inject({ url: '/usage/gupshup/usage?from=2024-01-01&to=2024-01-02', headers: as(KEYS.dash) })).json()
  t.same(new Set(scoped.data.map((point: { dimensions: Record<string, string> }) => point.dimensions.app)), new Set([GUPSHUP_APP]))
  const named = await app.inject({ url: `/usage/gupshup/usage?from=2024-01-01&to=2024-01-02&apps=${GUPSHUP_APP},${OTHER_APP}`, headers: as(KEYS.dash) })
  t.equal(named.statusCode, 404, 'naming an app the key may not see is as naming one that does not exist')
  t.match(named.json(), { code: 'unknown_app', parameter: 'apps' })

  const catalog = (await app.inject({ url: '/usage', headers: as(KEYS.dash) })).json()
  t.same(catalog.providers.map((provider: { name: string, accounts: string[] }) => [provider.name, provider.accounts]), [['gupshup', ['main']]],
    'the catalog lists only the providers and accounts the key may use')
  const full = (await app.inject({ url: '/usage', headers: as(KEYS.ops) })).json()
  t.same(full.providers.find((provider: { name: string }) => provider.name === 'gupshup').accounts, ['main', 'finance'])
})

t.test('the log line and the metrics name the account; no key, token or secret appears anywhere', async (t) => {
  const { app, rawLogs, sims } = await twoAccounts(t)
  await app.inject({ url: daily(OTHER_APP), headers: as(KEYS.ops) })
  await app.inject({ url: `${daily(OTHER_APP)}&account=finance`, headers: as(KEYS.dash) })
  await app.inject({ url: daily(GUPSHUP_APP), headers: { 'x-api-key': 'gw_not_a_key_0000000000000000' } })
  const lines = rawLogs.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.msg === 'request')
  t.match(lines[0], { caller: 'ops', account: 'finance', statusCode: 200 })
  t.match(lines[1], { caller: 'dash', statusCode: 403 })
  t.notOk('account' in lines[1] && lines[1].account !== undefined, 'no account answered the refused request')
  const metrics = (await app.inject('/metrics')).body
  t.match(metrics, /gateway_upstream_request_duration_seconds_count\{provider="gupshup",account="finance",report="[^"]+",status="200"\} 1/)
  const everything = rawLogs.join('\n') + metrics
  for (const secret of [...Object.values(KEYS), ...Object.values(sims.gupshup.tokens), 'gw_not_a_key_0000000000000000']) {
    t.notOk(everything.includes(secret), 'no key or token in a log line or metric')
  }
})

t.test('SIGHUP (reloadAccounts): keys and accounts change without a restart; a bad file keeps what was', async (t) => {
  const { app, path, document, rawLogs, sims } = await twoAccounts(t)
  t.equal((await app.inject({ url: daily(OTHER_APP), headers: as(KEYS.fin) })).statusCode, 200)
  const rotated = newKey()
  const apiKeys = document.apiKeys as Record<string, unknown>
  writeFileSync(path, JSON.stringify({ ...document, apiKeys: { ...apiKeys, fin: { sha256: sha256(rotated), scopes: ['gupshup:finance'] } } }))
  t.equal(app.reloadAccounts(), true)
  t.equal((await app.inject({ url: daily(OTHER_APP), headers: as(KEYS.fin) })).statusCode, 401, 'the old key is refused')
  const after = await app.inject({ url: daily(OTHER_APP), headers: as(rotated) })
  t.equal(after.statusCode, 200, 'the new key works')
  t.equal(after.headers['x-cache'], 'HIT', 'an unchanged account keeps its cache')

  // A bad file: a secret written inline. The previous configuration stays, and the log names the field, not the value.
  writeFileSync(path, JSON.stringify({ ...document, gupshup: { main: { appTokens: { [GUPSHUP_APP]: 'sk_inline_secret_value' } } } }))
  t.equal(app.reloadAccounts(), false)
  t.equal((await app.inject({ url: daily(OTHER_APP), headers: as(rotated) })).statusCode, 200, 'still served as before')
  const refusal = rawLogs.map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => line.msg === 'accounts not reloaded: the previous configuration stays')
  t.match(refusal, { level: 50, reason: /ACCOUNTS_FILE \(.+accounts\.json\) gupshup\.main\.appTokens is not a field/ })
  t.notOk(rawLogs.join('\n').includes('sk_inline_secret_value'))

  // Drop the finance account: its app is no longer anyone's.
  writeFileSync(path, JSON.stringify({ gupshup: { main: { appTokensEnv: 'MAIN_TOKENS' } }, apiKeys: { ops: { sha256: sha256(KEYS.ops), scopes: ['*'] } } }))
  t.equal(app.reloadAccounts(), true)
  const gone = await app.inject({ url: daily(OTHER_APP), headers: as(KEYS.ops) })
  t.equal(gone.statusCode, 404)
  t.same((await app.inject({ url: '/usage', headers: as(KEYS.ops) })).json().providers.find((p: { name: string }) => p.name === 'gupshup').accounts, ['main'])
  t.ok(sims.gupshup.calls.length >= 1)
})

t.test('a bad accounts file stops start-up with one line naming the file and the field, never a value', async (t) => {
  const dir = scratch()
  const write = (name: string, content: string): string => {
    const path = join(dir, name)
    writeFileSync(path, content)
    return path
  }
  const pem = '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----'
  const cases: Array<[string, string, RegExp]> = [
    ['inline.json', JSON.stringify({ apple: { brand: { keyId: 'K', privateKey: pem } } }), /apple\.brand\.privateKey is not a field \(secrets are never written inline/],
    ['nofile.json', JSON.stringify({ apple: { brand: { keyId: 'K', privateKeyPath: join(dir, 'missing.p8') } } }), /apple\.brand\.privateKeyPath names a file that cannot be read/],
    ['badpem.json', JSON.stringify({ apple: { brand: { keyId: 'K', privateKeyEnv: 'BAD_PEM' } } }), /apple\.brand\.privateKeyEnv is not an EC P-256 private key/],
    ['noenv.json', JSON.stringify({ gupshup: { main: { appTokensEnv: 'NOT_SET_ANYWHERE' } } }), /gupshup\.main\.appTokensEnv names an environment variable that is not set/],
    ['provider.json', JSON.stringify({ twilio: {} }), /twilio is not a provider of this gateway \(apple, gupshup\) nor apiKeys/],
    ['digest.json', JSON.stringify({ apiKeys: { ops: { sha256: 'not-a-digest', scopes: ['*'] } } }), /apiKeys\.ops\.sha256 must be the hex SHA-256/],
    ['key.json', JSON.stringify({ apiKeys: { ops: { key: 'gw_plain_key_000000000000', scopes: ['*'] } } }), /apiKeys\.ops\.key is not a field of a key/],
    ['scope.json', JSON.stringify({ apiKeys: { ops: { sha256: sha256('x'), scopes: ['gupshup:nobody'] } } }), /apiKeys\.ops\.scopes\[0\] names an account gupshup does not have/],
    ['shape.json', JSON.stringify({ apiKeys: { ops: { sha256: sha256('x'), scopes: ['gupshup:main:extra/'] } } }), /scopes\[0\] (must be|names)/],
    ['broken.json', '{ "apple": ', /is not valid JSON/],
    ['broken.yaml', 'apple:\n  brand: [unclosed\n', /is not valid YAML/]
  ]
  for (const [name, content, message] of cases) {
    const path = write(name, content)
    t.throws(() => loadConfig({ ACCOUNTS_FILE: path, BAD_PEM: 'not a pem at all' }), { name: 'ConfigError', message }, name)
    try {
      loadConfig({ ACCOUNTS_FILE: path, BAD_PEM: 'not a pem at all' })
    } catch (error) {
      const text = (error as Error).message
      t.ok(text.includes(path), `${name}: names the file`)
      for (const secret of ['MIGHAgEAMBMGByqGSM49', 'gw_plain_key_000000000000', 'not a pem at all']) t.notOk(text.includes(secret), `${name}: no value`)
      t.notOk(text.includes('\n'), `${name}: one line`)
    }
  }
  t.throws(() => loadConfig({ ACCOUNTS_FILE: join(dir, 'absent.json') }), { message: /ACCOUNTS_FILE \(.+absent\.json\) cannot be read/ })
  t.throws(() => loadConfig({ ACCOUNTS_FILE: write('clash.json', JSON.stringify({ apiKeys: { key1: { sha256: sha256('y'), scopes: ['*'] } } })), GATEWAY_API_KEYS: 'abcdefghijklmnop' }),
    { message: /apiKeys\.key1 names a key that another key already has/ })
})

t.test('YAML works too, and the single-account variables stay the account `default`, with scope * for their keys', async (t) => {
  const sims = await startSims(t)
  const dir = scratch()
  const path = join(dir, 'accounts.yaml')
  writeFileSync(path, `gupshup:\n  finance:\n    appTokensEnv: FIN_TOKENS\napiKeys:\n  fin:\n    sha256: ${sha256(KEYS.fin)}\n    scopes: [gupshup:finance]\n`)
  const env = {
    ACCOUNTS_FILE: path,
    GUPSHUP_BASE_URL: sims.gupshup.baseUrl,
    GUPSHUP_APP_TOKENS: JSON.stringify({ [GUPSHUP_APP]: sims.gupshup.tokens[GUPSHUP_APP] }),
    FIN_TOKENS: JSON.stringify({ [OTHER_APP]: sims.gupshup.tokens[OTHER_APP] }),
    GATEWAY_API_KEYS: `old=${KEYS.ops}`
  }
  const { app } = await gateway(t, { config: loadConfig({ LOG_LEVEL: 'info', ...env }), env })
  const old = await app.inject({ url: daily(GUPSHUP_APP), headers: as(KEYS.ops) })
  t.equal(old.json().account, 'default')
  t.equal((await app.inject({ url: daily(OTHER_APP), headers: as(KEYS.ops) })).json().account, 'finance', 'the environment key sees every account')
  t.equal((await app.inject({ url: daily(GUPSHUP_APP), headers: as(KEYS.fin) })).statusCode, 404)
  t.same((await app.inject({ url: '/usage', headers: as(KEYS.ops) })).json().providers.find((p: { name: string }) => p.name === 'gupshup').accounts, ['default', 'finance'])
})

t.test('a key that sees nothing of a provider is not told whether it is configured', async (t) => {
  const { app } = await twoAccounts(t)
  // Apple has no account here; a key of gupshup:main only gets what a missing subject gets, not a 503.
  const apple = await app.inject({ url: '/usage/apple/builds/ace4f47a-60ae-4ed6-954f-c4e61c7baab0', headers: as(KEYS.dash) })
  t.equal(apple.statusCode, 404)
  t.equal(apple.json().code, 'not_found')
  t.same((await app.inject({ url: '/usage/apple/apps', headers: as(KEYS.dash) })).json().items, [], 'an empty directory')
  t.equal((await app.inject({ url: '/usage/apple/apps', headers: as(KEYS.ops) })).statusCode, 503, 'a key that may see it is told')
})

t.test('a request answered again from memory still names its account, and is forgotten when the key is narrowed', async (t) => {
  const { app, path, document, rawLogs } = await twoAccounts(t)
  // Over HTTP: repeats of a report cached whole (the wallet) are answered in front of Fastify
  // (plugins/remembered-requests.ts), which inject never reaches.
  const { get } = await overHttp(t, app)
  const wallet = `/usage/gupshup/apps/${OTHER_APP}/wallet`
  const answers = []
  for (let index = 0; index < 3; index++) answers.push(await get({ url: wallet, headers: as(KEYS.fin) }))
  t.same(answers.map((answer) => [answer.statusCode, answer.fullPath]), [[200, true], [200, false], [200, false]])
  const lines = rawLogs.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.msg === 'request')
  t.same(lines.map((line) => [line.cache, line.account]), [['MISS', 'finance'], ['HIT', 'finance'], ['HIT', 'finance']])
  const apiKeys = document.apiKeys as Record<string, unknown>
  writeFileSync(path, JSON.stringify({ ...document, apiKeys: { ...apiKeys, fin: { sha256: sha256(KEYS.fin), scopes: ['gupshup:main'] } } }))
  t.equal(app.reloadAccounts(), true)
  const narrowed = await get({ url: wallet, headers: as(KEYS.fin) })
  t.equal(narrowed.statusCode, 404, 'the narrowed key no longer gets the report it was answered a moment ago')
  t.equal((JSON.parse(narrowed.body) as { code: string }).code, 'unknown_app')
  t.ok(narrowed.fullPath)
})

t.test('on one keep-alive connection, every request is still key-checked: a wrong key after a right one, a key dropped by a reload', async (t) => {
  const { app, path, document } = await twoAccounts(t)
  const address = await app.listen({ host: '127.0.0.1', port: 0 })
  const client = new Client(address, { pipelining: 0 })
  t.teardown(async () => { await client.close() })
  const statusWith = async (key: string): Promise<number> => {
    const res = await client.request({ method: 'GET', path: daily(OTHER_APP), headers: as(key) })
    await res.body.dump()
    return res.statusCode
  }
  t.equal(await statusWith(KEYS.fin), 200)
  t.equal(await statusWith(KEYS.fin), 200, 'the same key again')
  t.equal(await statusWith(`${KEYS.fin.slice(0, -1)}x`), 401, 'a key one character off, on the same connection')
  t.equal(await statusWith(KEYS.dash), 404, "another valid key on the same connection is that key (dash may not see finance's app)")
  t.equal(await statusWith(KEYS.fin), 200)
  const apiKeys = { ...(document.apiKeys as Record<string, unknown>) }
  Reflect.deleteProperty(apiKeys, 'fin')
  writeFileSync(path, JSON.stringify({ ...document, apiKeys }))
  t.equal(app.reloadAccounts(), true)
  t.equal(await statusWith(KEYS.fin), 401, 'a key the reload dropped is refused on the connection it was verified on')
})

import { createHash } from 'node:crypto'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { loadConfig as loadGatewayConfig, providers } from '../providers/index.js'
import { ConfigError, parseBytes } from '../src/config.js'
import { providersToSimulate as simulatedOf } from '../src/simulators.js'
import { appleKeyPair } from './helpers.js'

const loadConfig = loadGatewayConfig
const providersToSimulate = (config: ReturnType<typeof loadConfig>): string[] => simulatedOf(config, providers)

function fails (t: Test, env: Record<string, string>, variable: string, secret?: string): void {
  try {
    loadConfig(env)
    t.fail(`expected ${variable} to be refused`)
  } catch (error) {
    t.type(error, ConfigError)
    t.equal((error as ConfigError).variable, variable)
    t.match((error as Error).message, variable)
    if (secret !== undefined) t.notMatch((error as Error).message, secret, 'the value is not echoed')
  }
}

t.test('defaults', async (t) => {
  const config = loadConfig({})
  t.equal(config.host, '127.0.0.1')
  t.equal(config.port, 3000)
  t.equal(config.providers.apple.baseUrl, 'https://api.appstoreconnect.apple.com')
  t.equal(config.providers.gupshup.baseUrl, 'https://partner.gupshup.io')
  t.equal(config.upstreamTimeoutMs, 10_000)
  t.equal(config.cache.maxBytes, 64 * 1024 * 1024)
  t.equal(config.cache.ttlOverrideSeconds, undefined)
  t.same(config.apiKeys, [])
  t.same(providersToSimulate(config), ['apple', 'gupshup'])
})

t.test('a malformed GUPSHUP_APP_TOKENS is refused without printing a token', async (t) => {
  fails(t, { GUPSHUP_APP_TOKENS: '{"app-1": "sk_live_SECRET123", oops}' }, 'GUPSHUP_APP_TOKENS', 'sk_live_SECRET123')
  fails(t, { GUPSHUP_APP_TOKENS: 'sk_live_SECRET123' }, 'GUPSHUP_APP_TOKENS', 'sk_live_SECRET123')
  fails(t, { GUPSHUP_APP_TOKENS: '["sk_live_SECRET123"]' }, 'GUPSHUP_APP_TOKENS', 'sk_live_SECRET123')
  fails(t, { GUPSHUP_APP_TOKENS: '{"app 1": "sk_live_SECRET123"}' }, 'GUPSHUP_APP_TOKENS', 'sk_live_SECRET123')
  fails(t, { GUPSHUP_APP_TOKENS: '{"app-1": 42}' }, 'GUPSHUP_APP_TOKENS')
  t.same(loadConfig({ GUPSHUP_APP_TOKENS: '{"app-1": " tok "}' }).providers.gupshup.appTokens, { 'app-1': 'tok' })
})

t.test('production refuses to start without API keys unless GATEWAY_AUTH=none', async (t) => {
  fails(t, { NODE_ENV: 'production' }, 'GATEWAY_API_KEYS')
  t.same(loadConfig({ NODE_ENV: 'production', GATEWAY_AUTH: 'none' }).apiKeys, [])
  // Kept as SHA-256 digests (never the key), each seeing everything (scope *).
  const digest = (key: string): string => createHash('sha256').update(key).digest('hex')
  const keysOf = (env: Record<string, string>): unknown => loadConfig(env).apiKeys.map(({ name, digest, grants }) => ({ name, digest: digest.toString('hex'), all: grants.all }))
  t.same(keysOf({ NODE_ENV: 'production', GATEWAY_API_KEYS: 'abcdefghijklmnop, qrstuvwxyz012345' }),
    [{ name: 'key1', digest: digest('abcdefghijklmnop'), all: true }, { name: 'key2', digest: digest('qrstuvwxyz012345'), all: true }])
  t.same(keysOf({ GATEWAY_API_KEYS: 'dashboards=abcdefghijklmnop,ops = qrstuvwxyz012345' }),
    [{ name: 'dashboards', digest: digest('abcdefghijklmnop'), all: true }, { name: 'ops', digest: digest('qrstuvwxyz012345'), all: true }])
  fails(t, { GATEWAY_API_KEYS: 'a=abcdefghijklmnop,a=qrstuvwxyz012345' }, 'GATEWAY_API_KEYS', 'abcdefghijklmnop')
  fails(t, { GATEWAY_API_KEYS: '9lives=abcdefghijklmnop' }, 'GATEWAY_API_KEYS', 'abcdefghijklmnop')
  fails(t, { GATEWAY_API_KEYS: 'short' }, 'GATEWAY_API_KEYS', 'short')
  fails(t, { GATEWAY_AUTH: 'off' }, 'GATEWAY_AUTH')
  fails(t, { GATEWAY_AUTH: 'none', GATEWAY_API_KEYS: 'abcdefghijklmnop' }, 'GATEWAY_AUTH')
  t.same(providersToSimulate(loadConfig({ NODE_ENV: 'production', GATEWAY_AUTH: 'none' })), [], 'no simulators in production')
})

t.test('Apple credentials: a .p8 file or the PEM itself, all parts together', async (t) => {
  const { privateKeyPem } = await appleKeyPair()
  const dir = await mkdtemp(join(tmpdir(), 'gw-'))
  const path = join(dir, 'AuthKey.p8')
  await writeFile(path, privateKeyPem)
  const fromFile = loadConfig({ APPLE_KEY_ID: 'K', APPLE_ISSUER_ID: 'I', APPLE_PRIVATE_KEY_PATH: path })
  t.equal(fromFile.providers.apple.credentials?.privateKeyPem, privateKeyPem)
  const inline = loadConfig({ APPLE_KEY_ID: 'K', APPLE_PRIVATE_KEY: privateKeyPem.replace(/\n/g, '\\n') })
  t.equal(inline.providers.apple.credentials?.privateKeyPem, privateKeyPem, 'escaped newlines, as .env files hold them')
  t.equal(inline.providers.apple.credentials?.issuerId, undefined)
  t.same(providersToSimulate(inline), ['gupshup'])

  fails(t, { APPLE_KEY_ID: 'K', APPLE_ISSUER_ID: 'I' }, 'APPLE_PRIVATE_KEY_PATH')
  fails(t, { APPLE_ISSUER_ID: 'I', APPLE_PRIVATE_KEY: privateKeyPem }, 'APPLE_KEY_ID')
  fails(t, { APPLE_KEY_ID: 'K', APPLE_PRIVATE_KEY_PATH: join(dir, 'missing.p8') }, 'APPLE_PRIVATE_KEY_PATH')
  fails(t, { APPLE_KEY_ID: 'K', APPLE_PRIVATE_KEY: 'not-a-key-SECRETISH' }, 'APPLE_PRIVATE_KEY', 'SECRETISH')
  fails(t, { APPLE_KEY_ID: 'K', APPLE_PRIVATE_KEY: privateKeyPem, APPLE_PRIVATE_KEY_PATH: path }, 'APPLE_PRIVATE_KEY')
})

t.test('TRUST_PROXY and PUBLIC_BASE_URL', async (t) => {
  t.equal(loadConfig({}).trustProxy, false)
  t.equal(loadConfig({ TRUST_PROXY: 'true' }).trustProxy, true)
  t.equal(loadConfig({ TRUST_PROXY: '2' }).trustProxy, 2)
  t.equal(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1' }).trustProxy, '10.0.0.0/8, 127.0.0.1')
  fails(t, { TRUST_PROXY: 'everyone' }, 'TRUST_PROXY')
  t.equal(loadConfig({ ROUTE_PREFIX: '/gw' }).routePrefix, '/gw')
  fails(t, { ROUTE_PREFIX: 'gw/' }, 'ROUTE_PREFIX')
  t.equal(loadConfig({ PUBLIC_BASE_URL: 'https://gw.example.com/' }).publicBaseUrl, 'https://gw.example.com')
  fails(t, { PUBLIC_BASE_URL: 'gw.example.com' }, 'PUBLIC_BASE_URL')
  fails(t, { GUPSHUP_PARTNER_EMAIL: 'a@b.c' }, 'GUPSHUP_PARTNER_SECRET')
  fails(t, { GUPSHUP_PARTNER_SECRET: 's' }, 'GUPSHUP_PARTNER_EMAIL')
  fails(t, { GUPSHUP_PARTNER_EMAIL: 'not-an-email', GUPSHUP_PARTNER_SECRET: 's' }, 'GUPSHUP_PARTNER_EMAIL')
})

t.test('numbers, sizes, URLs and levels are checked', async (t) => {
  fails(t, { PORT: '70000' }, 'PORT')
  fails(t, { PORT: 'http' }, 'PORT')
  fails(t, { UPSTREAM_TIMEOUT_MS: '0' }, 'UPSTREAM_TIMEOUT_MS')
  fails(t, { CACHE_TTL_SECONDS: '-1' }, 'CACHE_TTL_SECONDS')
  fails(t, { CACHE_MAX_BYTES: 'lots' }, 'CACHE_MAX_BYTES')
  fails(t, { CACHE_MAX_BYTES: '1024' }, 'CACHE_MAX_BYTES')
  fails(t, { LOG_LEVEL: 'loud' }, 'LOG_LEVEL')
  fails(t, { APPLE_BASE_URL: 'ftp://example.com' }, 'APPLE_BASE_URL')
  fails(t, { GUPSHUP_BASE_URL: 'not a url' }, 'GUPSHUP_BASE_URL')
  fails(t, { GUPSHUP_BASE_URL: 'https://user:SECRETPW@example.com' }, 'GUPSHUP_BASE_URL', 'SECRETPW')
  t.equal(loadConfig({ CACHE_MAX_BYTES: '64MiB' }).cache.maxBytes, 67_108_864)
  t.equal(loadConfig({ CACHE_TTL_SECONDS: '0' }).cache.ttlOverrideSeconds, 0)
  t.equal(loadConfig({ APPLE_BASE_URL: 'http://127.0.0.1:9/prefix/' }).providers.apple.baseUrl, 'http://127.0.0.1:9/prefix')
  t.equal(parseBytes('2 GiB'), 2 * 1024 ** 3)
  t.equal(parseBytes('500KB'), 500_000)
  t.equal(parseBytes('12 parsecs'), undefined)
})

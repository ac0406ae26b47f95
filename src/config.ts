/**
 * Configuration from the environment. Every variable is checked once at
 * start-up; a bad one stops the process with a message that names the
 * variable and never echoes its value (several hold secrets).
 */
import { createPrivateKey } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { ID_PATTERN } from './patterns.js'

export interface AppleCredentials {
  /** Absent for an individual API key (the token then says `sub: "user"`). */
  issuerId?: string
  keyId: string
  privateKeyPem: string
}

export interface Config {
  host: string
  port: number
  logLevel: string
  production: boolean
  apple: {
    baseUrl: string
    credentials?: AppleCredentials
    /** Stop calling when Apple says fewer calls than this remain. */
    quotaReserve: number
    /** Most Apple calls in flight at once. */
    maxConcurrency: number
  }
  gupshup: {
    baseUrl: string
    appTokens: Record<string, string>
    /** Partner sign-in: app tokens fetched on demand (configured app tokens take precedence). */
    partner?: { email: string, secret: string }
    /** Most calls per app token in any 60 seconds. */
    rateLimitPerMinute: number
  }
  /** Inbound API keys, each with the name logs and metrics know it by; empty means inbound auth is off. */
  apiKeys: ApiKey[]
  /** Inbound requests per minute per API key (per client IP when auth is off). */
  rateLimitPerMinute: number
  upstreamTimeoutMs: number
  /** Most upstream pages one `all=true` request may follow. */
  maxPages: number
  /** Fastify's trustProxy: whom to believe about X-Forwarded-For. */
  trustProxy: boolean | number | string
  /** Where callers reach the gateway (behind an API gateway): the spec's server and every paging.next. */
  publicBaseUrl?: string
  /** Redis shared by the replicas (upstream budgets, inbound limits). */
  redisUrl?: string
  /** Every route served under this path (`/usage-gateway`), for a front that forwards paths as they are. */
  routePrefix: string
  cache: { ttlOverrideSeconds?: number, maxBytes: number, staleIfErrorSeconds: number }
  /** Socket limits and shutdown timing (README, Operations). */
  server: ServerLimits
  /** /metrics: a bearer key that guards it, and/or a port of its own (then not served on the main port). */
  metrics: { apiKey?: string, port?: number }
}

export interface ServerLimits {
  /** Time allowed for a request's headers; slower or idle new sockets are closed (408). */
  headersTimeoutMs: number
  /** Idle keep-alive sockets close after this: keep it below a fronting proxy's (AWS ALB: 60 s). */
  keepAliveTimeoutMs: number
  /** Open sockets at most; further ones are closed at once, logged and counted. Below the file limit. */
  maxConnections: number
  /** After SIGTERM: /ready answers 503 and the listener keeps answering this long. */
  shutdownDrainMs: number
  /** Then in-flight requests get this long to finish (never shorter than UPSTREAM_TIMEOUT_MS plus a second). */
  shutdownGraceMs: number
}

/** A gateway API key and its name (`GATEWAY_API_KEYS=name=key`, or `key<position>` when unnamed). */
export interface ApiKey { name: string, key: string }

export class ConfigError extends Error {
  readonly variable: string
  constructor (variable: string, problem: string) {
    super(`Invalid configuration: ${variable} ${problem}`)
    this.name = 'ConfigError'
    this.variable = variable
  }
}

type Env = Record<string, string | undefined>

const idRegExp = new RegExp(ID_PATTERN)

function value (env: Env, name: string): string | undefined {
  const raw = env[name]?.trim()
  return raw === undefined || raw === '' ? undefined : raw
}

function integer (env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = value(env, name)
  if (raw === undefined) return fallback
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(name, `must be a whole number from ${min} to ${max}`)
  }
  return Number(raw)
}

const BYTE_UNITS: Record<string, number> = { '': 1, b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 }

/** A size such as `67108864`, `64MiB` or `500 MB`. */
export function parseBytes (raw: string): number | undefined {
  const match = /^(\d+)\s*([a-z]*)$/i.exec(raw)
  const unit = match === null ? undefined : BYTE_UNITS[match[2].toLowerCase()]
  if (match === null || unit === undefined) return undefined
  return Number(match[1]) * unit
}

function bytes (env: Env, name: string, fallback: number): number {
  const raw = value(env, name)
  if (raw === undefined) return fallback
  const parsed = parseBytes(raw)
  if (parsed === undefined || parsed < 1024 * 1024) {
    throw new ConfigError(name, 'must be a size of at least 1MiB, such as 67108864 or 64MiB')
  }
  return parsed
}

function baseUrl (env: Env, name: string, fallback: string): string {
  const raw = value(env, name) ?? fallback
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new ConfigError(name, 'must be an absolute http(s) URL')
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    throw new ConfigError(name, 'must be an http(s) URL without credentials, query or fragment')
  }
  return url.origin + url.pathname.replace(/\/+$/, '')
}

function applePrivateKey (env: Env): string | undefined {
  const inline = value(env, 'APPLE_PRIVATE_KEY')
  const path = value(env, 'APPLE_PRIVATE_KEY_PATH')
  if (inline !== undefined && path !== undefined) {
    throw new ConfigError('APPLE_PRIVATE_KEY', 'and APPLE_PRIVATE_KEY_PATH are both set; set one')
  }
  if (inline === undefined && path === undefined) return undefined
  const variable = inline !== undefined ? 'APPLE_PRIVATE_KEY' : 'APPLE_PRIVATE_KEY_PATH'
  let pem = inline?.replace(/\\n/g, '\n')
  if (path !== undefined) {
    try {
      pem = readFileSync(path, 'utf8')
    } catch {
      throw new ConfigError(variable, 'names a file that cannot be read')
    }
  }
  try {
    const key = createPrivateKey({ key: pem as string, format: 'pem' })
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw new Error('not P-256')
  } catch {
    throw new ConfigError(variable, 'is not an EC P-256 private key in PKCS#8 PEM form (the .p8 file from App Store Connect)')
  }
  return pem
}

function appleCredentials (env: Env): AppleCredentials | undefined {
  const privateKeyPem = applePrivateKey(env)
  const keyId = value(env, 'APPLE_KEY_ID')
  const issuerId = value(env, 'APPLE_ISSUER_ID')
  if (privateKeyPem === undefined && keyId === undefined && issuerId === undefined) return undefined
  if (keyId === undefined) throw new ConfigError('APPLE_KEY_ID', 'is required with the other APPLE_* credentials')
  if (privateKeyPem === undefined) {
    throw new ConfigError('APPLE_PRIVATE_KEY_PATH', 'or APPLE_PRIVATE_KEY is required with the other APPLE_* credentials')
  }
  return { keyId, issuerId, privateKeyPem }
}

function gupshupAppTokens (env: Env): Record<string, string> {
  const raw = value(env, 'GUPSHUP_APP_TOKENS')
  if (raw === undefined) return {}
  let parsed: unknown
  try {
    parsed = JSON.parse(raw)
  } catch {
    // JSON.parse's message quotes the input, which holds tokens: never pass it on.
    throw new ConfigError('GUPSHUP_APP_TOKENS', 'is not valid JSON; expected an object of appId to app token')
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError('GUPSHUP_APP_TOKENS', 'must be a JSON object of appId to app token')
  }
  const tokens: Record<string, string> = {}
  for (const [appId, token] of Object.entries(parsed)) {
    if (!idRegExp.test(appId)) throw new ConfigError('GUPSHUP_APP_TOKENS', 'has an app id that is not letters, digits and dashes')
    if (typeof token !== 'string' || token.trim() === '') {
      throw new ConfigError('GUPSHUP_APP_TOKENS', 'must map every app id to a non-empty token string')
    }
    tokens[appId] = token.trim()
  }
  return tokens
}

function gupshupPartner (env: Env): { email: string, secret: string } | undefined {
  const email = value(env, 'GUPSHUP_PARTNER_EMAIL')
  const secret = value(env, 'GUPSHUP_PARTNER_SECRET')
  if (email === undefined && secret === undefined) return undefined
  if (email === undefined) throw new ConfigError('GUPSHUP_PARTNER_EMAIL', 'is required with GUPSHUP_PARTNER_SECRET')
  if (secret === undefined) throw new ConfigError('GUPSHUP_PARTNER_SECRET', 'is required with GUPSHUP_PARTNER_EMAIL')
  if (!/^[^@\s]+@[^@\s]+$/.test(email)) throw new ConfigError('GUPSHUP_PARTNER_EMAIL', 'must be an email address')
  return { email, secret }
}

const KEY_NAME = /^[A-Za-z][\w.-]{0,63}$/

/** `name=key` entries, or bare keys named by position: logs and metrics show the name, never the key. */
function apiKeys (env: Env, production: boolean): ApiKey[] {
  const entries = (value(env, 'GATEWAY_API_KEYS') ?? '').split(',').map((entry) => entry.trim()).filter((entry) => entry !== '')
  const keys = entries.map((entry, index) => {
    const named = /^([^=]{1,64})=(.+)$/.exec(entry)
    return named === null ? { name: `key${index + 1}`, key: entry } : { name: named[1].trim(), key: named[2].trim() }
  })
  const mode = value(env, 'GATEWAY_AUTH')
  if (mode !== undefined && mode !== 'none') throw new ConfigError('GATEWAY_AUTH', 'may only be "none"')
  if (mode === 'none' && keys.length > 0) throw new ConfigError('GATEWAY_AUTH', 'is "none" but GATEWAY_API_KEYS is set; choose one')
  if (production && keys.length === 0 && mode !== 'none') {
    throw new ConfigError('GATEWAY_API_KEYS', 'is required when NODE_ENV=production (or set GATEWAY_AUTH=none when an API gateway in front authenticates callers)')
  }
  if (keys.some(({ key }) => key.length < 16)) throw new ConfigError('GATEWAY_API_KEYS', 'must hold keys of at least 16 characters')
  if (keys.some(({ name }) => !KEY_NAME.test(name))) throw new ConfigError('GATEWAY_API_KEYS', 'must name keys with a letter, then letters, digits, _ . or - (64 at most)')
  if (new Set(keys.map(({ name }) => name)).size < keys.length) throw new ConfigError('GATEWAY_API_KEYS', 'must not name two keys alike')
  return keys
}

function serverLimits (env: Env, upstreamTimeoutMs: number): ServerLimits {
  return {
    headersTimeoutMs: integer(env, 'HEADERS_TIMEOUT_MS', 10_000, 100, 120_000),
    keepAliveTimeoutMs: integer(env, 'KEEP_ALIVE_TIMEOUT_MS', 5_000, 100, 600_000),
    maxConnections: integer(env, 'MAX_CONNECTIONS', 900, 1, 1_000_000),
    shutdownDrainMs: integer(env, 'SHUTDOWN_DRAIN_MS', 5_000, 0, 600_000),
    // An in-flight upstream call may take the whole upstream timeout: the grace covers it.
    shutdownGraceMs: Math.max(integer(env, 'SHUTDOWN_GRACE_MS', 10_000, 0, 600_000), upstreamTimeoutMs + 1_000)
  }
}

function metrics (env: Env): { apiKey?: string, port?: number } {
  const apiKey = value(env, 'METRICS_API_KEY')
  if (apiKey !== undefined && apiKey.length < 16) throw new ConfigError('METRICS_API_KEY', 'must be at least 16 characters')
  const port = value(env, 'METRICS_PORT') === undefined ? undefined : integer(env, 'METRICS_PORT', 0, 0, 65535)
  return { apiKey, port }
}

function routePrefix (env: Env): string {
  const raw = value(env, 'ROUTE_PREFIX')
  if (raw === undefined || raw === '/') return ''
  if (!/^(\/[A-Za-z0-9._~-]+)+$/.test(raw)) throw new ConfigError('ROUTE_PREFIX', 'must be a path such as /usage-gateway (no trailing slash)')
  return raw
}

function redisUrl (env: Env): string | undefined {
  const raw = value(env, 'REDIS_URL')
  if (raw === undefined) return undefined
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new ConfigError('REDIS_URL', 'must be a redis:// or rediss:// URL')
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new ConfigError('REDIS_URL', 'must be a redis:// or rediss:// URL')
  return raw
}

/** `true`, `false`, a hop count, or addresses and CIDRs (comma-separated) of the proxies to trust. */
function trustProxy (env: Env): boolean | number | string {
  const raw = value(env, 'TRUST_PROXY')
  if (raw === undefined || raw === 'false') return false
  if (raw === 'true') return true
  if (/^\d+$/.test(raw)) return Number(raw)
  if (/^[\d.:a-fA-F/]+(\s*,\s*[\d.:a-fA-F/]+)*$/.test(raw)) return raw
  throw new ConfigError('TRUST_PROXY', 'must be true, false, a hop count, or proxy addresses/CIDRs separated by commas')
}

const LOG_LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])

export function loadConfig (env: Env = process.env): Config {
  const production = env.NODE_ENV === 'production'
  const logLevel = value(env, 'LOG_LEVEL') ?? 'info'
  if (!LOG_LEVELS.has(logLevel)) throw new ConfigError('LOG_LEVEL', `must be one of ${[...LOG_LEVELS].join(', ')}`)
  const ttl = value(env, 'CACHE_TTL_SECONDS')
  const upstreamTimeoutMs = integer(env, 'UPSTREAM_TIMEOUT_MS', 10_000, 100, 120_000)
  return {
    host: value(env, 'HOST') ?? '127.0.0.1',
    port: integer(env, 'PORT', 3000, 0, 65535),
    logLevel,
    production,
    apple: {
      baseUrl: baseUrl(env, 'APPLE_BASE_URL', 'https://api.appstoreconnect.apple.com'),
      credentials: appleCredentials(env),
      quotaReserve: integer(env, 'APPLE_QUOTA_RESERVE', 50, 0, 100_000),
      maxConcurrency: integer(env, 'APPLE_MAX_CONCURRENCY', 4, 1, 64)
    },
    gupshup: {
      baseUrl: baseUrl(env, 'GUPSHUP_BASE_URL', 'https://partner.gupshup.io'),
      appTokens: gupshupAppTokens(env),
      partner: gupshupPartner(env),
      rateLimitPerMinute: integer(env, 'GUPSHUP_RATE_LIMIT_PER_MINUTE', 10, 1, 10_000)
    },
    apiKeys: apiKeys(env, production),
    rateLimitPerMinute: integer(env, 'GATEWAY_RATE_LIMIT_PER_MINUTE', 600, 1, 1_000_000),
    upstreamTimeoutMs,
    maxPages: integer(env, 'MAX_PAGES', 50, 1, 1000),
    trustProxy: trustProxy(env),
    redisUrl: redisUrl(env),
    routePrefix: routePrefix(env),
    publicBaseUrl: value(env, 'PUBLIC_BASE_URL') === undefined ? undefined : baseUrl(env, 'PUBLIC_BASE_URL', ''),
    cache: {
      ttlOverrideSeconds: ttl === undefined ? undefined : integer(env, 'CACHE_TTL_SECONDS', 0, 0, 31 * 86400),
      maxBytes: bytes(env, 'CACHE_MAX_BYTES', 64 * 1024 * 1024),
      staleIfErrorSeconds: integer(env, 'CACHE_STALE_IF_ERROR_SECONDS', 86_400, 0, 31 * 86400)
    },
    server: serverLimits(env, upstreamTimeoutMs),
    metrics: metrics(env)
  }
}

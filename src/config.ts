/**
 * Configuration from the environment. Every variable is checked once at
 * start-up; a bad one stops the process with a message that names the
 * variable and never echoes its value (several hold secrets).
 */
import { createHash } from 'node:crypto'
import { loadAccountsFile } from './accounts/accounts-file.js'
import { Grants, type ApiKey } from './accounts/grants.js'
import { ConfigError, type Env } from './config-error.js'
import type { ConfigsOf, Provider } from './provider.js'

export { ConfigError, type Env }
export type { ApiKey }

/** What the gateway itself reads from the environment (each provider reads its own section). */
export interface CoreConfig {
  host: string
  port: number
  logLevel: string
  production: boolean
  /**
   * Inbound API keys (GATEWAY_API_KEYS, scope `*`, then ACCOUNTS_FILE's), each with the name logs and metrics
   * know it by; none means every request is let through (development, or GATEWAY_AUTH=none).
   */
  apiKeys: ApiKey[]
  /** GATEWAY_AUTH=none: an API gateway in front authenticates callers; every request sees everything. */
  authDisabled: boolean
  /** ACCOUNTS_FILE: named accounts and scoped keys, read again on SIGHUP. */
  accountsFile?: string
  /** Inbound requests per minute per API key (per client IP when auth is off). */
  rateLimitPerMinute: number
  upstreamTimeoutMs: number
  /** The most of a contended credential's budget window one caller may spend (0 to 1). */
  upstreamSharePerCaller: number
  /** The longest an upstream's Retry-After (or the gateway's own back-off) holds a credential. */
  upstreamMaxBackoffSeconds: number
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
  cache: {
    ttlOverrideSeconds?: number
    maxBytes: number
    staleIfErrorSeconds: number
    /** A forced refresh (`no-cache`) of an entry younger than this is answered from the cache. */
    refreshFloorSeconds: number
  }
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

/** The whole configuration: the core's, and each provider's section by provider name. */
export interface Config<Sections = Record<string, unknown>> extends CoreConfig {
  /** Each provider's section of the environment: its settings, and the credentials of its account `default`. */
  providers: Sections
  /** ACCOUNTS_FILE's named accounts, per provider: each a section of that provider's shape. */
  accounts: { [P in keyof Sections]?: Record<string, Sections[P]> }
}

export function value (env: Env, name: string): string | undefined {
  const raw = env[name]?.trim()
  return raw === undefined || raw === '' ? undefined : raw
}

export function integer (env: Env, name: string, fallback: number, min: number, max: number): number {
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

/** A fraction such as `0.5`, from `min` to 1. */
function fraction (env: Env, name: string, fallback: number, min: number): number {
  const raw = value(env, name)
  if (raw === undefined) return fallback
  if (!/^(0(\.\d+)?|1(\.0+)?|\.\d+)$/.test(raw) || Number(raw) < min) {
    throw new ConfigError(name, `must be a fraction from ${min} to 1, such as 0.5`)
  }
  return Number(raw)
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

export function baseUrl (env: Env, name: string, fallback: string): string {
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

const KEY_NAME = /^[A-Za-z][\w.-]{0,63}$/

/** SHA-256 of a key: what the gateway keeps of it. */
export const keyDigest = (key: string): Buffer => createHash('sha256').update(key).digest()

/** GATEWAY_API_KEYS: `name=key` entries, or bare keys named by position; each sees everything (scope `*`). */
function environmentKeys (env: Env): ApiKey[] {
  const entries = (value(env, 'GATEWAY_API_KEYS') ?? '').split(',').map((entry) => entry.trim()).filter((entry) => entry !== '')
  const keys = entries.map((entry, index) => {
    const named = /^([^=]{1,64})=(.+)$/.exec(entry)
    return named === null ? { name: `key${index + 1}`, key: entry } : { name: named[1].trim(), key: named[2].trim() }
  })
  if (keys.some(({ key }) => key.length < 16)) throw new ConfigError('GATEWAY_API_KEYS', 'must hold keys of at least 16 characters')
  if (keys.some(({ name }) => !KEY_NAME.test(name))) throw new ConfigError('GATEWAY_API_KEYS', 'must name keys with a letter, then letters, digits, _ . or - (64 at most)')
  return keys.map(({ name, key }) => ({ name, digest: keyDigest(key), grants: Grants.everything }))
}

/** The keys of the environment and of the accounts file, checked together. */
export function apiKeys (env: Env, production: boolean, fileKeys: readonly ApiKey[], accountsFile?: string): ApiKey[] {
  const keys = [...environmentKeys(env), ...fileKeys]
  const mode = value(env, 'GATEWAY_AUTH')
  if (mode !== undefined && mode !== 'none') throw new ConfigError('GATEWAY_AUTH', 'may only be "none"')
  if (mode === 'none' && keys.length > 0) throw new ConfigError('GATEWAY_AUTH', `is "none" but ${fileKeys.length > 0 ? `ACCOUNTS_FILE (${accountsFile ?? ''}) has apiKeys` : 'GATEWAY_API_KEYS is set'}; choose one`)
  if (production && keys.length === 0 && mode !== 'none') {
    throw new ConfigError('GATEWAY_API_KEYS', 'is required when NODE_ENV=production, or apiKeys in ACCOUNTS_FILE (or set GATEWAY_AUTH=none when an API gateway in front authenticates callers)')
  }
  const names = keys.map(({ name }) => name)
  const twice = names.find((name, index) => names.indexOf(name) !== index)
  if (twice !== undefined) throw new ConfigError(fileKeys.some(({ name }) => name === twice) ? `ACCOUNTS_FILE (${accountsFile ?? ''}) apiKeys.${twice}` : 'GATEWAY_API_KEYS', 'names a key that another key already has')
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

/** The core configuration and each listed provider's section, checked once at start-up. */
export function loadConfig<const L extends readonly Provider[]> (env: Env, providers: L): Config<ConfigsOf<L>> {
  const production = env.NODE_ENV === 'production'
  const logLevel = value(env, 'LOG_LEVEL') ?? 'info'
  if (!LOG_LEVELS.has(logLevel)) throw new ConfigError('LOG_LEVEL', `must be one of ${[...LOG_LEVELS].join(', ')}`)
  const ttl = value(env, 'CACHE_TTL_SECONDS')
  const upstreamTimeoutMs = integer(env, 'UPSTREAM_TIMEOUT_MS', 10_000, 100, 120_000)
  const sections = Object.fromEntries(providers.map((provider) => [provider.name, provider.config.parse(env)])) as ConfigsOf<L>
  const accountsFile = value(env, 'ACCOUNTS_FILE')
  const file = accountsFile === undefined ? { accounts: {}, apiKeys: [] } : loadAccountsFile(accountsFile, env, providers, sections)
  return {
    host: value(env, 'HOST') ?? '127.0.0.1',
    port: integer(env, 'PORT', 3000, 0, 65535),
    logLevel,
    production,
    apiKeys: apiKeys(env, production, file.apiKeys, accountsFile),
    authDisabled: value(env, 'GATEWAY_AUTH') === 'none',
    accountsFile,
    rateLimitPerMinute: integer(env, 'GATEWAY_RATE_LIMIT_PER_MINUTE', 600, 1, 1_000_000),
    upstreamTimeoutMs,
    upstreamSharePerCaller: fraction(env, 'UPSTREAM_SHARE_PER_CALLER', 0.5, 0.05),
    upstreamMaxBackoffSeconds: integer(env, 'UPSTREAM_MAX_BACKOFF_SECONDS', 300, 1, 86_400),
    maxPages: integer(env, 'MAX_PAGES', 50, 1, 1000),
    trustProxy: trustProxy(env),
    redisUrl: redisUrl(env),
    routePrefix: routePrefix(env),
    publicBaseUrl: value(env, 'PUBLIC_BASE_URL') === undefined ? undefined : baseUrl(env, 'PUBLIC_BASE_URL', ''),
    cache: {
      ttlOverrideSeconds: ttl === undefined ? undefined : integer(env, 'CACHE_TTL_SECONDS', 0, 0, 31 * 86400),
      maxBytes: bytes(env, 'CACHE_MAX_BYTES', 64 * 1024 * 1024),
      staleIfErrorSeconds: integer(env, 'CACHE_STALE_IF_ERROR_SECONDS', 86_400, 0, 31 * 86400),
      refreshFloorSeconds: integer(env, 'CACHE_REFRESH_FLOOR_SECONDS', 60, 0, 86_400)
    },
    server: serverLimits(env, upstreamTimeoutMs),
    metrics: metrics(env),
    providers: sections,
    accounts: file.accounts as Config<ConfigsOf<L>>['accounts']
  }
}

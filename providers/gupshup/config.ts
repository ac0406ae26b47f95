/**
 * Gupshup's section of the environment: app tokens or partner sign-in, the
 * upstream address, and the per-token call limit.
 */
import { baseUrl, ConfigError, integer, value, type Env } from '../../src/config.js'
import { ID_PATTERN } from '../../src/patterns.js'

const idRegExp = new RegExp(ID_PATTERN)

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

export interface GupshupConfig {
  baseUrl: string
  appTokens: Record<string, string>
  /** Partner sign-in: app tokens fetched on demand (configured app tokens take precedence). */
  partner?: { email: string, secret: string }
  /** Most calls per app token in any 60 seconds. */
  rateLimitPerMinute: number
}

export function parseGupshupConfig (env: Env): GupshupConfig {
  return {
    baseUrl: baseUrl(env, 'GUPSHUP_BASE_URL', 'https://partner.gupshup.io'),
    appTokens: gupshupAppTokens(env),
    partner: gupshupPartner(env),
    rateLimitPerMinute: integer(env, 'GUPSHUP_RATE_LIMIT_PER_MINUTE', 10, 1, 10_000)
  }
}

/**
 * Gupshup's section of the environment: app tokens or partner sign-in, the
 * upstream address, and the per-token call limit.
 */
import { integerField, onlyFields, secretField, textField, type AccountFields } from '../../src/accounts/fields.js'
import { baseUrl, ConfigError, integer, value, type Env } from '../../src/config.js'
import { ID_PATTERN } from '../../src/patterns.js'

const idRegExp = new RegExp(ID_PATTERN)

function gupshupAppTokens (env: Env): Record<string, string> {
  const raw = value(env, 'GUPSHUP_APP_TOKENS')
  return raw === undefined ? {} : appTokensOf(raw, 'GUPSHUP_APP_TOKENS')
}

/** A JSON object of appId → app token; a ConfigError naming `variable` (never a token) when it is not one. */
function appTokensOf (raw: string, variable: string): Record<string, string> {
  let parsed: unknown
  try {
    parsed = JSON.parse(raw)
  } catch {
    // JSON.parse's message quotes the input, which holds tokens: never pass it on.
    throw new ConfigError(variable, 'is not valid JSON; expected an object of appId to app token')
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(variable, 'must be a JSON object of appId to app token')
  }
  const tokens: Record<string, string> = {}
  for (const [appId, token] of Object.entries(parsed)) {
    if (!idRegExp.test(appId)) throw new ConfigError(variable, 'has an app id that is not letters, digits and dashes')
    if (typeof token !== 'string' || token.trim() === '') {
      throw new ConfigError(variable, 'must map every app id to a non-empty token string')
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

const ACCOUNT_FIELDS = ['appTokensPath', 'appTokensEnv', 'partnerEmail', 'partnerSecretPath', 'partnerSecretEnv', 'baseUrl', 'rateLimitPerMinute']

/** One named Gupshup account of ACCOUNTS_FILE: its app tokens (a JSON file or variable) and/or its partner sign-in. */
export function parseGupshupAccount (fields: AccountFields, base: GupshupConfig, env: Env): GupshupConfig {
  onlyFields(fields, ACCOUNT_FIELDS)
  const tokens = secretField(fields, 'appTokens', env)
  const email = textField(fields, 'partnerEmail')
  const secret = secretField(fields, 'partnerSecret', env)
  if (email !== undefined && secret === undefined) throw new ConfigError('partnerSecretPath', 'or partnerSecretEnv is required with partnerEmail')
  if (email === undefined && secret !== undefined) throw new ConfigError('partnerEmail', `is required with ${secret.field}`)
  if (email !== undefined && !/^[^@\s]+@[^@\s]+$/.test(email)) throw new ConfigError('partnerEmail', 'must be an email address')
  if (tokens === undefined && email === undefined) throw new ConfigError('appTokensPath', 'or appTokensEnv, or partnerEmail with its secret, is required')
  const address = textField(fields, 'baseUrl')
  return {
    baseUrl: address === undefined ? base.baseUrl : baseUrl({ baseUrl: address }, 'baseUrl', ''),
    appTokens: tokens === undefined ? {} : appTokensOf(tokens.secret, tokens.field),
    partner: email === undefined || secret === undefined ? undefined : { email, secret: secret.secret },
    rateLimitPerMinute: integerField(fields, 'rateLimitPerMinute', 1, 10_000) ?? base.rateLimitPerMinute
  }
}

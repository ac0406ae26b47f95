/**
 * Apple's section of the environment: the App Store Connect API key, the
 * upstream address, and how hard the gateway may use the key.
 */
import { createPrivateKey } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { onlyFields, requiredText, secretField, textField, type AccountFields } from '../../src/accounts/fields.js'
import { baseUrl, ConfigError, integer, value, type Env } from '../../src/config.js'

export interface AppleCredentials {
  /** Absent for an individual API key (the token then says `sub: "user"`). */
  issuerId?: string
  keyId: string
  privateKeyPem: string
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
  return checkedPem(pem as string, variable)
}

/** `pem`, once it is an App Store Connect key; else a ConfigError naming `variable`. */
function checkedPem (pem: string, variable: string): string {
  try {
    const key = createPrivateKey({ key: pem, format: 'pem' })
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

export interface AppleConfig {
  baseUrl: string
  credentials?: AppleCredentials
  /** Stop calling when Apple says fewer calls than this remain. */
  quotaReserve: number
  /** Most Apple calls in flight at once. */
  maxConcurrency: number
  /** Most Apple calls waiting for a connection; more are refused at once (503 upstream_busy). */
  maxPending: number
}

export function parseAppleConfig (env: Env): AppleConfig {
  return {
    baseUrl: baseUrl(env, 'APPLE_BASE_URL', 'https://api.appstoreconnect.apple.com'),
    credentials: appleCredentials(env),
    quotaReserve: integer(env, 'APPLE_QUOTA_RESERVE', 50, 0, 100_000),
    maxConcurrency: integer(env, 'APPLE_MAX_CONCURRENCY', 4, 1, 64),
    maxPending: integer(env, 'APPLE_MAX_PENDING', 32, 0, 10_000)
  }
}

const ACCOUNT_FIELDS = ['issuerId', 'keyId', 'privateKeyPath', 'privateKeyEnv', 'baseUrl']

/** One named Apple account of ACCOUNTS_FILE: its own API key (the private key from a file or a variable). */
export function parseAppleAccount (fields: AccountFields, base: AppleConfig, env: Env): AppleConfig {
  onlyFields(fields, ACCOUNT_FIELDS)
  const keyId = requiredText(fields, 'keyId')
  const privateKey = secretField(fields, 'privateKey', env)
  if (privateKey === undefined) throw new ConfigError('privateKeyPath', 'or privateKeyEnv is required')
  const address = textField(fields, 'baseUrl')
  return {
    ...base,
    baseUrl: address === undefined ? base.baseUrl : baseUrl({ baseUrl: address }, 'baseUrl', ''),
    credentials: { keyId, issuerId: textField(fields, 'issuerId'), privateKeyPem: checkedPem(privateKey.secret.replace(/\\n/g, '\n'), privateKey.field) }
  }
}

/**
 * ACCOUNTS_FILE: named accounts per provider and the API keys with their
 * scopes, in JSON or YAML (README, Accounts and scopes). Read at start-up and
 * again on SIGHUP. A bad file is refused whole with one line naming the file
 * and the field, never a value; secrets come from the files or environment
 * variables it names, and keys are written as SHA-256 digests.
 */
import { readFileSync } from 'node:fs'
import { parse as parseYaml } from 'yaml'
import { ConfigError, type Env } from '../config-error.js'
import type { Provider } from '../provider.js'
import type { AccountFields } from './fields.js'
import { Grants, NAME_PATTERN, parseScope, type ApiKey, type Scope } from './grants.js'

export interface AccountsFile {
  /** provider → account name → that provider's configuration section for the account, in the file's order. */
  accounts: Record<string, Record<string, unknown>>
  apiKeys: ApiKey[]
}

/** The account the environment's single-account variables define. */
export const DEFAULT_ACCOUNT = 'default'

const NAME = new RegExp(NAME_PATTERN)
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

/** The file's content as data (JSON, or YAML for .yaml/.yml); parse errors name a line at most, never content. */
function readDocument (path: string): unknown {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch {
    throw new ConfigError(`ACCOUNTS_FILE (${path})`, 'cannot be read')
  }
  if (/\.ya?ml$/i.test(path)) {
    try {
      return parseYaml(text)
    } catch (error) {
      const line = (error as { linePos?: Array<{ line: number }> }).linePos?.[0]?.line
      throw new ConfigError(`ACCOUNTS_FILE (${path})`, `is not valid YAML${line === undefined ? '' : ` (line ${line})`}`)
    }
  }
  try {
    return JSON.parse(text)
  } catch {
    throw new ConfigError(`ACCOUNTS_FILE (${path})`, 'is not valid JSON (a file ending .yaml or .yml is read as YAML)')
  }
}

/**
 * The accounts and keys of the file at `path`. `sections` are the providers'
 * sections from the environment: an account inherits its provider's settings
 * (address, limits) and brings its own credentials; a provider whose
 * environment has credentials already has the account `default`.
 */
export function loadAccountsFile (path: string, env: Env, providers: readonly Provider[], sections: Readonly<Record<string, unknown>>): AccountsFile {
  const where = (field: string): string => `ACCOUNTS_FILE (${path}) ${field}`
  const document = readDocument(path)
  if (!isObject(document)) throw new ConfigError(where('top level'), 'must be an object of providers and apiKeys')
  const names = providers.map((provider) => provider.name)
  const accounts: Record<string, Record<string, unknown>> = {}
  for (const [name, entries] of Object.entries(document)) {
    if (name === 'apiKeys') continue
    const provider = providers.find((candidate) => candidate.name === name)
    if (provider === undefined) throw new ConfigError(where(name), `is not a provider of this gateway (${names.join(', ')}) nor apiKeys`)
    if (!isObject(entries)) throw new ConfigError(where(name), 'must be an object of named accounts')
    const section = sections[name]
    accounts[name] = {}
    for (const [account, fields] of Object.entries(entries)) {
      if (!NAME.test(account)) throw new ConfigError(where(`${name}.${account.slice(0, 64)}`), 'is not an account name: a letter, then letters, digits, _ . or - (64 at most)')
      if (account === DEFAULT_ACCOUNT && provider.config.isConfigured(section)) {
        throw new ConfigError(where(`${name}.${account}`), `is the account the environment's ${name} credentials already define; name it otherwise`)
      }
      if (!isObject(fields)) throw new ConfigError(where(`${name}.${account}`), 'must be an object of fields')
      const parse = provider.config.account
      if (parse === undefined) throw new ConfigError(where(name), 'is a provider without named accounts')
      try {
        accounts[name][account] = parse(fields as AccountFields, section, env)
      } catch (error) {
        if (error instanceof ConfigError) throw new ConfigError(where(`${name}.${account}.${error.variable}`), error.message.replace(/^Invalid configuration: \S+ /, ''))
        throw error
      }
    }
  }
  const known = (provider: string, account: string): boolean =>
    accounts[provider]?.[account] !== undefined || (account === DEFAULT_ACCOUNT && (providers.find((p) => p.name === provider)?.config.isConfigured(sections[provider]) ?? false))
  return { accounts, apiKeys: apiKeysOf(document.apiKeys, names, known, where) }
}

function apiKeysOf (raw: unknown, providers: readonly string[], known: (provider: string, account: string) => boolean, where: (field: string) => string): ApiKey[] {
  if (raw === undefined) return []
  if (!isObject(raw)) throw new ConfigError(where('apiKeys'), 'must be an object of named keys')
  const keys: ApiKey[] = []
  for (const [name, entry] of Object.entries(raw)) {
    const field = `apiKeys.${name.slice(0, 64)}`
    if (!NAME.test(name)) throw new ConfigError(where(field), 'is not a key name: a letter, then letters, digits, _ . or - (64 at most)')
    if (!isObject(entry)) throw new ConfigError(where(field), 'must be an object with sha256 and scopes')
    const unknown = Object.keys(entry).find((key) => key !== 'sha256' && key !== 'scopes')
    if (unknown !== undefined) {
      throw new ConfigError(where(`${field}.${unknown.slice(0, 64)}`), 'is not a field of a key (sha256, scopes; keys are written as their SHA-256, never inline)')
    }
    if (typeof entry.sha256 !== 'string' || !/^[0-9a-f]{64}$/i.test(entry.sha256)) {
      throw new ConfigError(where(`${field}.sha256`), 'must be the hex SHA-256 of the key (64 hex digits: `printf %s "$KEY" | sha256sum`)')
    }
    if (!Array.isArray(entry.scopes) || entry.scopes.length === 0) throw new ConfigError(where(`${field}.scopes`), 'must be a non-empty list of scopes')
    const scopes: Scope[] = entry.scopes.map((text: unknown, index: number) => {
      const at = where(`${field}.scopes[${index}]`)
      if (typeof text !== 'string') throw new ConfigError(at, 'must be a string')
      const scope = parseScope(text)
      if (typeof scope === 'string') throw new ConfigError(at, scope)
      if (scope.provider !== undefined && !providers.includes(scope.provider)) throw new ConfigError(at, `names a provider this gateway does not have (${providers.join(', ')})`)
      if (scope.provider !== undefined && scope.account !== undefined && !known(scope.provider, scope.account)) {
        throw new ConfigError(at, `names an account ${scope.provider} does not have`)
      }
      return scope
    })
    keys.push({ name, digest: Buffer.from(entry.sha256, 'hex'), grants: new Grants(scopes) })
  }
  return keys
}

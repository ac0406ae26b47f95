/**
 * Reading one account entry of the accounts file: the helpers a provider's
 * `config.account()` uses. Each throws ConfigError naming the field (the
 * loader adds the file and the entry's path), never its value. Secrets are
 * never written in the file: it names a file (`…Path`) or an environment
 * variable (`…Env`) that holds each one.
 */
import { readFileSync } from 'node:fs'
import { ConfigError, type Env } from '../config-error.js'

/** An account entry as written: field → value. */
export type AccountFields = Readonly<Record<string, unknown>>

/** Refuses a field the provider's accounts do not have (a misspelt or inline secret would otherwise be ignored). */
export function onlyFields (fields: AccountFields, allowed: readonly string[]): void {
  for (const name of Object.keys(fields)) {
    if (!allowed.includes(name)) {
      const secret = /secret|key|token|password/i.test(name) && !/(Path|Env|Id)$/.test(name)
      throw new ConfigError(name, secret
        ? `is not a field (secrets are never written inline: name a file with ${name}Path or an environment variable with ${name}Env)`
        : `is not a field of this provider's accounts (${allowed.join(', ')})`)
    }
  }
}

/** An optional text field. */
export function textField (fields: AccountFields, name: string): string | undefined {
  const raw = fields[name]
  if (raw === undefined) return undefined
  if (typeof raw !== 'string' || raw.trim() === '') throw new ConfigError(name, 'must be a non-empty string')
  return raw.trim()
}

/** A required text field. */
export function requiredText (fields: AccountFields, name: string): string {
  const text = textField(fields, name)
  if (text === undefined) throw new ConfigError(name, 'is required')
  return text
}

/** An optional whole number from `min` to `max`. */
export function integerField (fields: AccountFields, name: string, min: number, max: number): number | undefined {
  const raw = fields[name]
  if (raw === undefined) return undefined
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < min || raw > max) throw new ConfigError(name, `must be a whole number from ${min} to ${max}`)
  return raw
}

/**
 * A secret from the file `<base>Path` names or the environment variable
 * `<base>Env` names (one of the two); undefined when neither is given.
 * Returns the secret and the field it came from (for later error messages).
 */
export function secretField (fields: AccountFields, base: string, env: Env): { secret: string, field: string } | undefined {
  const path = textField(fields, `${base}Path`)
  const variable = textField(fields, `${base}Env`)
  if (path !== undefined && variable !== undefined) throw new ConfigError(`${base}Path`, `and ${base}Env are both given; give one`)
  if (path !== undefined) {
    let secret: string
    try {
      secret = readFileSync(path, 'utf8').trim()
    } catch {
      throw new ConfigError(`${base}Path`, 'names a file that cannot be read')
    }
    if (secret === '') throw new ConfigError(`${base}Path`, 'names an empty file')
    return { secret, field: `${base}Path` }
  }
  if (variable !== undefined) {
    const secret = env[variable]?.trim()
    if (secret === undefined || secret === '') throw new ConfigError(`${base}Env`, 'names an environment variable that is not set')
    return { secret, field: `${base}Env` }
  }
  return undefined
}

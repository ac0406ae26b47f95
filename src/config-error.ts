/**
 * The configuration's one error: it names the variable (or the accounts
 * file's field) and never echoes a value, since several hold secrets.
 */
export class ConfigError extends Error {
  readonly variable: string
  constructor (variable: string, problem: string) {
    super(`Invalid configuration: ${variable} ${problem}`)
    this.name = 'ConfigError'
    this.variable = variable
  }
}

export type Env = Record<string, string | undefined>

/**
 * What an API key may see: its scopes (`*`, `<provider>`, `<provider>:<account>`
 * or `<provider>:<account>/<subject id>`), and the questions the usage
 * service asks of them. A subject scope names a top-level subject (an app):
 * the key sees it and what belongs to it (its builds, groups, testers).
 */

export interface Scope {
  /** Absent: every provider (`*`). */
  provider?: string
  /** Absent: every account of the provider. */
  account?: string
  /** Absent: everything in the account. */
  subject?: string
}

/** Account and key names: a letter, then letters, digits, `_`, `.` or `-` (64 at most). */
export const NAME_PATTERN = '^[A-Za-z][\\w.-]{0,63}$'
const NAME = new RegExp(NAME_PATTERN)
const SUBJECT = /^[A-Za-z0-9-]{1,100}$/

/** A scope from its written form, or a sentence saying what is wrong with it (never echoing more than its shape). */
export function parseScope (raw: string): Scope | string {
  if (raw === '*') return {}
  const match = /^([a-z][a-z0-9-]*)(?::([^/]+)(?:\/(.+))?)?$/.exec(raw)
  if (match === null) return 'must be *, <provider>, <provider>:<account> or <provider>:<account>/<subject id>'
  const [, provider, account, subject] = match
  if (account !== undefined && !NAME.test(account)) return 'names an account that is not a letter, then letters, digits, _ . or -'
  if (subject !== undefined && !SUBJECT.test(subject)) return 'names a subject id that is not letters, digits and dashes'
  return { provider, account, subject }
}

/** One key's scopes, asked the way the usage service needs them. */
export class Grants {
  /** A gateway without keys, or a key with scope `*`. */
  static readonly everything = new Grants([{}])

  readonly scopes: readonly Scope[]
  /** provider → account → 'all' or the subjects it may see; '*' stands for every provider or account. */
  private readonly tree = new Map<string, Map<string, 'all' | Set<string>>>()

  constructor (scopes: readonly Scope[]) {
    this.scopes = scopes
    for (const { provider = '*', account = '*', subject } of scopes) {
      const accounts = this.tree.get(provider) ?? new Map<string, 'all' | Set<string>>()
      this.tree.set(provider, accounts)
      const held = accounts.get(account)
      if (subject === undefined) accounts.set(account, 'all')
      else if (held !== 'all') accounts.set(account, (held ?? new Set<string>()).add(subject))
    }
  }

  /** Whether the key sees the whole gateway (`*`). */
  get all (): boolean {
    return this.tree.get('*')?.get('*') === 'all'
  }

  /** Whether the key may use the account at all: the whole of it, or some of its subjects. */
  mayUse (provider: string, account: string): boolean {
    return this.subjectsIn(provider, account) !== undefined
  }

  /** Whether the key sees anything of the provider. */
  seesProvider (provider: string): boolean {
    return this.tree.has('*') || this.tree.has(provider)
  }

  /** What the key sees in the account: 'all', the ids of the subjects it may see, or undefined (nothing). */
  subjectsIn (provider: string, account: string): 'all' | ReadonlySet<string> | undefined {
    let subjects: Set<string> | undefined
    for (const name of ['*', provider]) {
      const accounts = this.tree.get(name)
      for (const held of [accounts?.get('*'), accounts?.get(account)]) {
        if (held === 'all') return 'all'
        if (held !== undefined) subjects = new Set([...subjects ?? [], ...held])
      }
    }
    return subjects
  }

  /** Whether the key may see the top-level subject `id` (an app) of the account. */
  maySee (provider: string, account: string, id: string): boolean {
    const subjects = this.subjectsIn(provider, account)
    return subjects === 'all' || (subjects?.has(id) ?? false)
  }
}

/** A gateway API key: its name (what logs and metrics show), the SHA-256 digest of the key, and what it may see. */
export interface ApiKey { name: string, digest: Buffer, grants: Grants }

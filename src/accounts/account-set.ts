/**
 * The accounts the gateway serves, per provider, each with its own source
 * (credentials, budgets, back-off, token cache, partner login). Replaced
 * whole on SIGHUP: an account whose section is unchanged keeps its source
 * (and so its budgets and tokens); a dropped or changed one is closed after
 * a grace, so a request in flight finishes on the source it started with.
 */
import { hash } from 'node:crypto'
import type { Provider, Source } from '../provider.js'
import { DEFAULT_ACCOUNT } from './accounts-file.js'

/** provider → its accounts in order, each with its configuration section. */
export type AccountSections = Record<string, Array<[name: string, section: unknown]>>

/** The account `default` (the environment's credentials, when the provider has them), then ACCOUNTS_FILE's. */
export function accountSections (providers: readonly Provider[], sections: Readonly<Record<string, unknown>>, fileAccounts: Readonly<Record<string, Readonly<Record<string, unknown>> | undefined>>): AccountSections {
  return Object.fromEntries(providers.map((provider) => {
    const environment: Array<[string, unknown]> = provider.config.isConfigured(sections[provider.name]) ? [[DEFAULT_ACCOUNT, sections[provider.name]]] : []
    return [provider.name, [...environment, ...Object.entries(fileAccounts[provider.name] ?? {})]]
  }))
}

/** Makes the source of one account. */
export type SourceFactory = (provider: Provider, account: string, section: unknown) => Source

interface Held { section: string, source: Source, cacheName: string }

/**
 * What the caches know an account by: its name and a digest of its section, so a name given other credentials
 * (SIGHUP, or a restart on the same Redis) never answers from what the previous ones fetched. `default` keeps its name.
 */
function cacheNameOf (account: string, section: string): string {
  return account === DEFAULT_ACCOUNT ? account : `${account}~${hash('sha256', section, 'hex').slice(0, 16)}`
}

export class AccountSet {
  private readonly factory: SourceFactory
  private readonly providers: ReadonlyMap<string, Provider>
  private readonly closeAfterMs: number
  /** provider → account → its source, in the accounts' order. */
  private held = new Map<string, Map<string, Held>>()
  /** provider → its account names, in order (read on every request: kept, not rebuilt). */
  private namesOf = new Map<string, readonly string[]>()
  /** Sources dropped by a replace, waiting for their requests in flight. */
  private readonly retiring = new Map<ReturnType<typeof setTimeout>, Source[]>()
  private readonly retired: Array<Promise<void>> = []

  constructor (providers: readonly Provider[], factory: SourceFactory, sections: AccountSections, closeAfterMs: number) {
    this.factory = factory
    this.providers = new Map(providers.map((provider) => [provider.name, provider]))
    this.closeAfterMs = closeAfterMs
    this.replace(sections)
  }

  /**
   * Serves `sections` from now on. A source whose section is unchanged is
   * kept; the others are made anew (a factory that throws leaves the set as it was).
   */
  replace (sections: AccountSections): void {
    const next = new Map<string, Map<string, Held>>()
    const made: Source[] = []
    try {
      for (const [name, accounts] of Object.entries(sections)) {
        const provider = this.providers.get(name)
        if (provider === undefined) continue
        const current = this.held.get(name)
        const held = new Map<string, Held>()
        for (const [account, section] of accounts) {
          const text = JSON.stringify(section)
          const kept = current?.get(account)
          if (kept !== undefined && kept.section === text) {
            held.set(account, kept)
          } else {
            const source = this.factory(provider, account, section)
            made.push(source)
            held.set(account, { section: text, source, cacheName: cacheNameOf(account, text) })
          }
        }
        next.set(name, held)
      }
    } catch (error) {
      for (const source of made) this.retired.push(source.close())
      throw error
    }
    const kept = new Set([...next.values()].flatMap((accounts) => [...accounts.values()].map((held) => held.source)))
    const dropped = [...this.held.values()].flatMap((accounts) => [...accounts.values()].map((held) => held.source)).filter((source) => !kept.has(source))
    this.held = next
    this.namesOf = new Map([...next].map(([provider, accounts]) => [provider, [...accounts.keys()]]))
    if (dropped.length > 0) {
      // Requests in flight may still be using them: close them once those have had time to finish.
      const timer = setTimeout(() => {
        this.retiring.delete(timer)
        for (const source of dropped) this.retired.push(source.close())
      }, this.closeAfterMs)
      timer.unref()
      this.retiring.set(timer, dropped)
    }
  }

  /** The provider's account names, in order (the environment's `default` first). */
  names (provider: string): readonly string[] {
    return this.namesOf.get(provider) ?? []
  }

  source (provider: string, account: string): Source | undefined {
    return this.held.get(provider)?.get(account)?.source
  }

  /** The account's name in cache keys (its name and a digest of its section). */
  cacheName (provider: string, account: string): string {
    return this.held.get(provider)?.get(account)?.cacheName ?? account
  }

  /** Each provider's accounts' last quota figures: provider → `account/credential` → figure. */
  quotas (): Record<string, Record<string, Record<string, number>>> {
    return Object.fromEntries([...this.held].map(([provider, accounts]) => [provider, Object.assign({}, ...[...accounts].map(([account, { source }]) =>
      Object.fromEntries(Object.entries(source.quota?.() ?? {}).map(([credential, figures]) => [account === DEFAULT_ACCOUNT ? credential : `${account}/${credential}`, figures]))))]))
  }

  async close (): Promise<void> {
    for (const timer of this.retiring.keys()) clearTimeout(timer)
    const sources = [...this.held.values()].flatMap((accounts) => [...accounts.values()].map((held) => held.source))
    sources.push(...[...this.retiring.values()].flat())
    this.retiring.clear()
    this.held = new Map()
    this.namesOf = new Map()
    await Promise.all([...this.retired, ...sources.map(async (source) => { await source.close() })])
  }
}

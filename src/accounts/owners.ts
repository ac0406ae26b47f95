/**
 * Which account answers a request: the one `account=` names (403 when the
 * key may not use it), else the one that owns the subject among the accounts
 * the key may use. A subject the key may not see is answered exactly as one
 * that does not exist (no existence oracle). Owners found are remembered; so
 * is each account's "not mine", so finding the owner costs each account at
 * most one upstream call per unknown subject.
 */
import { LRUCache } from 'lru-cache'
import { gatewayError, InvalidParameterError, NotFoundError, ProviderNotConfiguredError, type GatewayError } from '../errors.js'
import type { CallContext } from '../upstream-timing.js'
import type { AccountSet } from './account-set.js'
import type { Grants } from './grants.js'

export interface OwnerQuestion {
  provider: string
  /** The subject as the route names it. */
  type: string
  id: string
  /**
   * The top-level subject (an app) it stands for: its own id, another's (a
   * tester's app, from the query), or undefined when the account's source
   * must say (`parentOf`: a build's or a group's app).
   */
  top?: string
  /** `account=`, when the caller named one. */
  account?: string
  grants: Grants
  context: CallContext
}

export interface OwnersOptions {
  accounts: AccountSet
  /** What a subject that does not exist gets from the provider: what a hidden one gets too. */
  notFound: (provider: string, type: string, id: string) => GatewayError
  /**
   * The top-level subjects (apps) one account lists, from its cached directory
   * (`refresh`: once more from the upstream, unless it was just fetched); undefined when the provider lists none.
   */
  topLevel: (provider: string, account: string, context: CallContext, refresh: boolean) => Promise<ReadonlySet<string> | undefined>
  now?: () => number
}

/** How long an owner found is remembered (a build never moves; an app rarely changes teams). */
const OWNER_TTL_MS = 24 * 3_600_000
/** How long an account's "not mine" is remembered (a new build becomes visible after this). */
const NOT_MINE_TTL_MS = 10 * 60_000

export class Owners {
  private readonly options: OwnersOptions
  /** provider:type:id → its owning account (and its app). */
  private readonly owners: LRUCache<string, { account: string, top: string }>
  /** provider:account:type:id → that account cannot see it. */
  private readonly notMine: LRUCache<string, true>

  constructor (options: OwnersOptions) {
    this.options = options
    const perf = { now: options.now ?? Date.now }
    this.owners = new LRUCache({ max: 100_000, ttl: OWNER_TTL_MS, perf, ttlResolution: 0 })
    this.notMine = new LRUCache({ max: 100_000, ttl: NOT_MINE_TTL_MS, perf, ttlResolution: 0 })
  }

  /** Forgets every owner (the accounts changed). */
  clear (): void {
    this.owners.clear()
    this.notMine.clear()
  }

  /**
   * The account `account=` names, once the key may use it and it exists. Whether it exists is
   * said only to a key that may use the whole provider: any other gets the 403 either way.
   */
  named (provider: string, grants: Grants, account: string): string {
    if (!grants.mayUse(provider, account)) throw gatewayError('forbidden', `This API key may not use the ${provider} account '${account}'.`, { parameter: 'account', provider })
    const names = this.options.accounts.names(provider)
    if (names.length === 0) throw new ProviderNotConfiguredError(provider)
    if (!names.includes(account)) throw new InvalidParameterError('account', `${provider} has no account '${account}' (it has ${names.map((name) => `'${name}'`).join(', ')}).`)
    return account
  }

  /**
   * The accounts a key may use of a provider: the one it named (checked), or
   * every one it may use, in order. Throws `hidden()` when it may use none.
   */
  private candidates (provider: string, grants: Grants, named: string | undefined, hidden: () => GatewayError): readonly string[] {
    if (named !== undefined) return [this.named(provider, grants, named)]
    // A key that sees nothing of the provider is not told whether it is configured.
    if (!grants.seesProvider(provider)) throw hidden()
    const names = this.options.accounts.names(provider)
    if (names.length === 0) throw new ProviderNotConfiguredError(provider)
    const usable = grants.all ? names : names.filter((name) => grants.mayUse(provider, name))
    if (usable.length === 0) throw hidden()
    return usable
  }

  /** The account that answers the question: synchronous when nothing needs finding (one account, whole access). */
  resolve (question: OwnerQuestion): string | Promise<string> {
    const { provider, type, id, top, grants } = question
    const hidden = (): GatewayError => this.options.notFound(provider, type, id)
    const candidates = this.candidates(provider, grants, question.account, hidden)
    if (candidates.length === 1) {
      const [account] = candidates
      const subjects = grants.subjectsIn(provider, account)
      if (subjects === 'all') return account
      if (top !== undefined) {
        if (subjects?.has(top) !== true) throw hidden()
        return account
      }
    }
    return this.find(question, candidates, hidden)
  }

  private async find (question: OwnerQuestion, candidates: readonly string[], hidden: () => GatewayError): Promise<string> {
    const { provider, type, id, top, grants, context } = question
    // A top-level subject is remembered by its own id (a tester's owner is its app's); another by its type and id.
    const key = top === undefined ? `${provider}:${type}:${id}` : `${provider}::${top}`
    const remembered = this.owners.get(key)
    // An owner the key may not use is looked for as any subject is, so its 404 costs what a missing one's does (no oracle).
    if (remembered !== undefined && candidates.includes(remembered.account)) {
      if (!grants.maySee(provider, remembered.account, remembered.top)) throw hidden()
      return remembered.account
    }
    if (top === undefined) {
      for (const account of candidates) {
        const parent = await this.parentIn(provider, account, type, id, context)
        if (parent === undefined) continue
        // The owner, whether or not this key may see its app: remembered either way.
        this.owners.set(key, { account, top: parent })
        if (!grants.maySee(provider, account, parent)) throw hidden()
        return account
      }
      throw hidden()
    }
    const seen = candidates.filter((account) => grants.maySee(provider, account, top))
    for (const refresh of [false, true]) {
      for (const account of seen) {
        const listed = await this.options.topLevel(provider, account, context, refresh)
        // A provider that lists no top-level subjects: the first account that may see it answers.
        if (listed === undefined || listed.has(top)) {
          this.owners.set(key, { account, top })
          return account
        }
      }
    }
    throw hidden()
  }

  /** The subject's app as the account sees it, or undefined when the account cannot see it (remembered). */
  private async parentIn (provider: string, account: string, type: string, id: string, context: CallContext): Promise<string | undefined> {
    const key = `${provider}:${account}:${type}:${id}`
    if (this.notMine.has(key)) return undefined
    const source = this.options.accounts.source(provider, account)
    if (source?.parentOf === undefined) throw new Error(`${provider} cannot say whose ${type} '${id}' is (its source has no parentOf)`)
    try {
      return await source.parentOf(type, id, context)
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error
      this.notMine.set(key, true)
      return undefined
    }
  }
}

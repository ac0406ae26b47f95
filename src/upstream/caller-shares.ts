/**
 * Caller shares of an upstream credential's budget window. Every call a
 * request causes is charged to its caller; while a credential is contended
 * (another caller asked for it within the window), no caller may spend more
 * than `share` of the window's limit. A caller alone may use it all: an idle
 * budget is not wasted. Per replica: Redis shares the budgets, not the shares.
 */
import type { Refusal } from './budget.js'

interface Spend { caller: string, at: number }

export interface CallerSharesOptions {
  /** The most a caller may spend of a contended window, 0 to 1 (UPSTREAM_SHARE_PER_CALLER). */
  share: number
  windowMs: number
  /** The credential's calls per window (Apple's is what Apple last said, Gupshup's the configured limit). */
  limitOf: (key: string) => number
  now?: () => number
}

export class CallerShares {
  readonly share: number
  private readonly windowMs: number
  private readonly limitOf: (key: string) => number
  private readonly now: () => number
  /** Per credential: calls charged within the window, oldest first. */
  private readonly spent = new Map<string, Spend[]>()
  /** Per credential: when each caller last asked for a call. */
  private readonly demand = new Map<string, Map<string, number>>()

  constructor (options: CallerSharesOptions) {
    this.share = options.share
    this.windowMs = options.windowMs
    this.limitOf = options.limitOf
    this.now = options.now ?? Date.now
  }

  /** Records that `caller` wants a call on `key`; refuses when the key is contended and the caller's share is spent. */
  check (key: string, caller: string): Refusal | undefined {
    const now = this.now()
    const since = now - this.windowMs
    const demand = this.demand.get(key) ?? new Map<string, number>()
    for (const [other, at] of demand) if (at <= since) demand.delete(other)
    demand.set(caller, now)
    this.demand.set(key, demand)
    if (demand.size < 2 || this.share >= 1) return undefined
    const mine = this.recent(key, now).filter((spend) => spend.caller === caller)
    const cap = Math.max(1, Math.floor(this.share * this.limitOf(key)))
    if (mine.length < cap) return undefined
    // Free again once enough of this caller's calls leave the window to bring it under the cap.
    return { retryAfterMs: mine[mine.length - cap].at + this.windowMs - now }
  }

  /** One call made on `key`, charged to `caller`. */
  charge (key: string, caller: string): void {
    const list = this.recent(key, this.now())
    list.push({ caller, at: this.now() })
    this.spent.set(key, list)
  }

  private recent (key: string, now: number): Spend[] {
    const list = this.spent.get(key) ?? []
    let drop = 0
    while (drop < list.length && list[drop].at <= now - this.windowMs) drop++
    if (drop > 0) list.splice(0, drop)
    return list
  }
}

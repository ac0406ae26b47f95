/**
 * What the domain reports about itself as it works (upstream calls, budget
 * refusals, caller charges, cache evictions). plugins/metrics.ts turns it
 * into Prometheus metrics; without it, nothing is recorded.
 */

export type RefusalReason = 'budget' | 'backoff' | 'share' | 'busy'

export interface GatewayObserver {
  /** One upstream attempt: its HTTP status, or `error` / `timeout`; `account` names the provider account. */
  upstreamCall: (provider: string, report: string, status: string, seconds: number, account?: string) => void
  /**
   * A call the gateway did not make: the budget was spent, a 429 back-off
   * holds, the caller's share is spent (`caller` then names it), or the queue is full.
   */
  upstreamRefused: (provider: string, reason: RefusalReason, caller?: string, account?: string) => void
  /** One upstream call charged to a caller (its key's name, or `anonymous`). */
  callerCharged: (provider: string, caller: string, account?: string) => void
  /** The LRU dropped an entry to stay within CACHE_MAX_BYTES. */
  cacheEvicted: (cache: 'reports' | 'days') => void
  /** One subject of a fan-out: its cache outcome (`hit`, `miss`, `stale`) or its problem code. */
  fanOutPart: (provider: string, report: string, outcome: string) => void
}

export const quietObserver: GatewayObserver = {
  upstreamCall: () => {},
  upstreamRefused: () => {},
  callerCharged: () => {},
  cacheEvicted: () => {},
  fanOutPart: () => {}
}

/** `observer` as one account's source reports to it: its upstream calls and refusals carry the account's name. */
export function accountObserver (observer: GatewayObserver, account: string): GatewayObserver {
  return {
    ...observer,
    upstreamCall: (provider, report, status, seconds) => { observer.upstreamCall(provider, report, status, seconds, account) },
    upstreamRefused: (provider, reason, caller) => { observer.upstreamRefused(provider, reason, caller, account) },
    callerCharged: (provider, caller) => { observer.callerCharged(provider, caller, account) }
  }
}

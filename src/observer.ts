/**
 * What the domain reports about itself as it works (upstream calls, budget
 * refusals, cache evictions). plugins/metrics.ts turns it into Prometheus
 * metrics; without it, nothing is recorded.
 */

export interface GatewayObserver {
  /** One upstream attempt: its HTTP status, or `error` / `timeout`. */
  upstreamCall: (provider: string, report: string, status: string, seconds: number) => void
  /** A call the gateway did not make: the budget was spent, or a 429 back-off holds. */
  upstreamRefused: (provider: string, reason: 'budget' | 'backoff') => void
  /** The LRU dropped an entry to stay within CACHE_MAX_BYTES. */
  cacheEvicted: (cache: 'reports' | 'days') => void
}

export const quietObserver: GatewayObserver = {
  upstreamCall: () => {},
  upstreamRefused: () => {},
  cacheEvicted: () => {}
}

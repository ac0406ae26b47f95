/**
 * What the caches hand out, shared by the report cache, its Redis level and
 * the day cache (kept apart so that none of them imports another for a type).
 */
export interface CachedReport {
  /** The serialized report, ready to send. */
  body: string
  /** Strong validator over `body`. */
  etag: string
  storedAt: number
  ttlMs: number
}

export type CacheOutcome = 'HIT' | 'MISS' | 'STALE'

export interface CacheAnswer {
  entry: CachedReport
  outcome: CacheOutcome
  /** Seconds since the entry was stored. */
  ageSeconds: number
  /** Seconds the entry stays fresh (0 when stale). */
  freshSeconds: number
  /** A fan-out's subjects left out (`X-Incomplete`); absent or 0 when complete. */
  incomplete?: number
}

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
  /**
   * The cache the entry came from and its key there. An answer derived from
   * a cached one (labelled, bucketed) keeps these, with an entry that cache
   * does not hold: `from.holds(key, entry)` tells them apart.
   */
  from?: HitSource
  key?: string
}

/** A cache that answers a known key's fresh entry without a promise (the routes' memo of requests to keys). */
export interface HitSource {
  /** The fresh entry under `key` as a HIT, or undefined (missing, or stale: then the slow path refreshes it). */
  hit: (key: string) => CacheAnswer | undefined
  /** Whether `entry` is what the cache holds under `key` now. */
  holds: (key: string, entry: CachedReport) => boolean
}

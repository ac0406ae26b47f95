/**
 * The response cache: serialized reports in an LRU bounded by bytes.
 * lru-cache's `fetch` does the hard parts: concurrent misses of one key make
 * one upstream call, and an expired entry is answered at once while one
 * background refresh runs (stale-while-revalidate). Every caller joined to a
 * failed fetch gets that fetch's own error.
 */
import { createHash } from 'node:crypto'
import { LRUCache } from 'lru-cache'
import type { CacheAnswer, CachedReport, CacheOutcome, HitSource } from './types.js'
import type { SharedReportStore } from './shared-store.js'

interface LoadContext {
  load: () => Promise<string>
  ttlMs: number
  forceRefresh: boolean
}

export interface ReportCacheOptions {
  maxBytes: number
  /** How long past its TTL an entry may still be answered (stale). */
  maxStaleMs: number
  now?: () => number
  /** An entry was dropped to stay within maxBytes. */
  onEvict?: () => void
  /** The replicas' shared second level (Redis), when there is one. */
  shared?: SharedReportStore
  /** How long a replica waits for another's fetch of the same cold report (UPSTREAM_TIMEOUT_MS). */
  sharedWaitMs?: number
}

// Heap per entry beyond its body and key: the entry, its ETag, lru-cache's links.
// Measured with bench/memory.ts: V8's heap after GC against entries held, at two
// overheads (400 and 850), is 12.8 MiB + 1311 bytes per entry whose body and key
// are 772 bytes: 540 bytes beyond them. Counted at 400, the cache held 12% more
// than CACHE_MAX_BYTES said, and the process grew to 1.8-2.1x the bound (bench/NOTES.md).
const ENTRY_OVERHEAD_BYTES = 550

export function etagOf (body: string): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 32)}"`
}

/** A hit's lookup: a stale entry is no hit, and is left for `fetch` to refresh. */
const FRESH_ONLY = { allowStale: false, noDeleteOnStaleGet: true } as const

export class ReportCache implements HitSource {
  private readonly lru: LRUCache<string, CachedReport, LoadContext>
  private readonly now: () => number
  private readonly maxStaleMs: number
  private readonly shared?: SharedReportStore
  private readonly sharedWaitMs: number
  /** Entries another replica fetched: answered as hits, since no upstream call was made for them. */
  private readonly fromShared = new WeakSet<CachedReport>()
  /**
   * The error of each key's last failed load. lru-cache tells only the caller
   * that started a fetch why it failed (`status.fetchError`); the callers
   * joined to it read the same error here.
   */
  private readonly failures = new LRUCache<string, { error: unknown }>({ max: 1000 })
  readonly maxBytes: number

  constructor (options: ReportCacheOptions) {
    this.now = options.now ?? Date.now
    this.maxStaleMs = options.maxStaleMs
    this.shared = options.shared
    this.sharedWaitMs = options.sharedWaitMs ?? 10_000
    this.maxBytes = options.maxBytes
    this.lru = new LRUCache<string, CachedReport, LoadContext>({
      maxSize: options.maxBytes,
      sizeCalculation: (entry, key) => Buffer.byteLength(entry.body) + key.length + ENTRY_OVERHEAD_BYTES,
      allowStale: true,
      dispose: (_value, _key, reason) => { if (reason === 'evict') options.onEvict?.() },
      allowStaleOnFetchRejection: true,
      perf: { now: this.now },
      // Read the clock on every check: a cached reading would blur TTLs under a test's fake clock.
      ttlResolution: 0,
      fetchMethod: async (key, _stale, { context, options }) => {
        let entry: CachedReport
        try {
          entry = await this.load(key, context)
        } catch (error) {
          this.failures.set(key, { error })
          throw error
        }
        this.failures.delete(key)
        // A report from another replica keeps its age: it stays fresh only for what is left.
        options.ttl = Math.max(1, entry.storedAt + entry.ttlMs - this.now())
        return entry
      }
    })
  }

  /**
   * The cached report under `key`, loading it with `load` when missing or
   * expired. A `ttlMs` of 0 disables caching for this call.
   */
  async fetch (key: string, ttlMs: number, load: () => Promise<string>, forceRefresh = false, refreshFloorMs = 0): Promise<CacheAnswer> {
    if (ttlMs <= 0) return this.answerOf(this.entryOf(await load(), 0), 'MISS', key)
    if (forceRefresh) {
      // A forced refresh of an entry younger than the floor is answered from the cache: no refresh floods.
      const young = this.lru.peek(key, { allowStale: true })
      if (young !== undefined && this.now() - young.storedAt < refreshFloorMs && this.now() < young.storedAt + young.ttlMs) return this.answerOf(young, 'HIT', key)
    } else {
      // The hot path: a fresh entry is answered without fetch's machinery.
      const fresh = this.hit(key)
      if (fresh !== undefined) return fresh
    }
    const existing = this.lru.peek(key, { allowStale: true })
    // Past the stale window an entry is no answer at all: forget it, fetch afresh.
    if (existing !== undefined && this.now() - existing.storedAt > existing.ttlMs + this.maxStaleMs) this.lru.delete(key)
    const status: LRUCache.Status<string, CachedReport, LoadContext> = {}
    // A forced refresh waits for the upstream (falling back on the cached copy only if it fails).
    const entry = await this.lru.fetch(key, { context: { load, ttlMs, forceRefresh }, status, forceRefresh, allowStale: !forceRefresh })
    // With allowStaleOnFetchRejection, a failed load with nothing stale to fall back on
    // resolves undefined; the load's own error is the answer.
    if (entry === undefined) throw status.fetchError ?? this.failures.get(key)?.error ?? new Error(`cache fetch of ${key} resolved nothing`)
    const outcome: CacheOutcome = status.returnedStale === true ? 'STALE' : status.fetch === 'hit' || this.fromShared.has(entry) ? 'HIT' : 'MISS'
    return this.answerOf(entry, outcome, key)
  }

  /**
   * A fresh entry's answer, or undefined: the hot path of `fetch` without a
   * promise, for callers that already know the key (the routes' memo of
   * requests to keys). It counts as a use of the entry, as `fetch` does.
   */
  hit (key: string): CacheAnswer | undefined {
    const fresh = this.lru.get(key, FRESH_ONLY)
    return fresh === undefined ? undefined : this.answerOf(fresh, 'HIT', key)
  }

  /** Whether `entry` is what the cache holds under `key` now (not a copy or a form derived from it). */
  holds (key: string, entry: CachedReport): boolean {
    return this.lru.peek(key, { allowStale: true }) === entry
  }

  /**
   * An entry for a key this replica lacks: from the shared level when another
   * replica has it fresh; else fetched upstream by one replica while the
   * others wait for its answer; without Redis, simply fetched.
   */
  private async load (key: string, context: LoadContext): Promise<CachedReport> {
    const isFresh = (entry: CachedReport): boolean => this.now() < entry.storedAt + entry.ttlMs
    if (this.shared === undefined) return this.entryOf(await context.load(), context.ttlMs)
    if (!context.forceRefresh) {
      const shared = await this.shared.get(key)
      const answer = shared !== undefined && isFresh(shared) ? shared : await this.shared.fetchOrWait(key, isFresh, this.sharedWaitMs, this.sharedWaitMs)
      if (answer !== true) {
        this.fromShared.add(answer)
        return answer
      }
    }
    try {
      const entry = this.entryOf(await context.load(), context.ttlMs)
      await this.shared.set(key, entry, context.ttlMs + this.maxStaleMs)
      return entry
    } finally {
      await this.shared.unlock(key)
    }
  }

  /** Whether a body of `bytes` under `key` can be kept at all (lru-cache drops larger ones unstored). */
  fits (key: string, bytes: number): boolean {
    return bytes + key.length + ENTRY_OVERHEAD_BYTES <= this.maxBytes
  }

  /** Entries held, and their counted bytes. */
  get entries (): number {
    return this.lru.size
  }

  get bytes (): number {
    return this.lru.calculatedSize
  }

  private answerOf (entry: CachedReport, outcome: CacheOutcome, key: string): CacheAnswer {
    const now = this.now()
    return {
      entry,
      outcome,
      ageSeconds: Math.max(0, Math.floor((now - entry.storedAt) / 1000)),
      freshSeconds: Math.max(0, Math.floor((entry.storedAt + entry.ttlMs - now) / 1000)),
      from: this,
      key
    }
  }

  private entryOf (body: string, ttlMs: number): CachedReport {
    return { body, etag: etagOf(body), storedAt: this.now(), ttlMs }
  }
}

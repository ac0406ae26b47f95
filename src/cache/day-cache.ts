/**
 * Daily usage cached per day, not per requested range: a request is
 * assembled from cached days and only days missing from the cache are
 * fetched, each contiguous gap in one upstream call (windows of at most
 * `maxWindowDays`). Days the upstream leaves out are remembered as
 * known-empty. Concurrent requests share the fetch of a day in flight.
 */
import { LRUCache } from 'lru-cache'
import { addDays, daysBetween } from '../days.js'
import type { DayRow } from '../days.js'
import type { CacheOutcome } from './types.js'

interface DayEntry {
  /** null: the upstream had nothing for this day. */
  row: DayRow | null
  storedAt: number
  ttlMs: number
}

export interface DayAnswer {
  days: Array<[string, DayRow | null]>
  outcome: CacheOutcome
  ageSeconds: number
  freshSeconds: number
}

/** Fetches [from, to] (both included) and returns the days the upstream had. */
export type WindowLoader = (from: string, to: string) => Promise<Map<string, DayRow>>

export interface DayRequest {
  /** Whose days: provider, report and subject. */
  scope: string
  from: string
  to: string
  load: WindowLoader
  /** Freshness of a day's figures (`empty`: the upstream had nothing for it); 0 disables caching. */
  ttlMsOf: (day: string, empty: boolean) => number
  /** Days after this are not asked for (nothing happened yet) and not cached. */
  lastFetchable: string
  forceRefresh?: boolean
  /** A forced refresh leaves days younger than this as they are (a floor against refresh floods). */
  refreshFloorMs?: number
  /** A background refresh (after a STALE answer) failed. */
  onBackgroundError?: (error: unknown) => void
}

export interface DayCacheOptions {
  maxBytes: number
  maxStaleMs: number
  maxWindowDays: number
  now?: () => number
  /** An entry was dropped to stay within maxBytes. */
  onEvict?: () => void
}

const ENTRY_OVERHEAD_BYTES = 160

export class DayCache {
  private readonly lru: LRUCache<string, DayEntry>
  private readonly inflight = new Map<string, Promise<Map<string, DayRow | null>>>()
  private readonly maxStaleMs: number
  private readonly maxWindowDays: number
  private readonly now: () => number

  constructor (options: DayCacheOptions) {
    this.now = options.now ?? Date.now
    this.maxStaleMs = options.maxStaleMs
    this.maxWindowDays = options.maxWindowDays
    // lru-cache's TTL is the hard expiry (fresh + stale window); freshness is read from storedAt.
    this.lru = new LRUCache<string, DayEntry>({
      maxSize: options.maxBytes,
      perf: { now: this.now },
      ttlResolution: 0,
      dispose: (_value, _key, reason) => { if (reason === 'evict') options.onEvict?.() }
    })
  }

  /** Entries held, and their counted bytes. */
  get entries (): number {
    return this.lru.size
  }

  get bytes (): number {
    return this.lru.calculatedSize
  }

  async days (request: DayRequest): Promise<DayAnswer> {
    const { scope, forceRefresh = false } = request
    const now = this.now()
    const all = daysBetween(request.from, request.to)
    const cached = new Map<string, DayEntry>()
    for (const day of all) {
      const entry = this.lru.get(`${scope}/${day}`)
      if (entry !== undefined) cached.set(day, entry)
    }
    const floorMs = request.refreshFloorMs ?? 0
    const isFresh = (entry: DayEntry | undefined): boolean => entry !== undefined && now < entry.storedAt + entry.ttlMs &&
      (!forceRefresh || now - entry.storedAt < floorMs)
    const needed = all.filter((day) => day <= request.lastFetchable && !isFresh(cached.get(day)))
    const fetched = needed.length === 0 ? undefined : this.fetch(request, needed)
    const staleCovers = needed.every((day) => cached.has(day))

    let outcome: CacheOutcome = 'HIT'
    let got = new Map<string, DayRow | null>()
    if (fetched !== undefined && staleCovers && !forceRefresh) {
      // Stale-while-revalidate: answer the old days now, refresh behind.
      fetched.catch((error: unknown) => request.onBackgroundError?.(error))
      outcome = 'STALE'
    } else if (fetched !== undefined) {
      try {
        got = await fetched
        outcome = 'MISS'
      } catch (error) {
        // Stale-if-error: the last good days, while they last.
        if (!staleCovers) throw error
        outcome = 'STALE'
      }
    }

    let ageMs = 0
    let freshMs = Number.POSITIVE_INFINITY
    const days: Array<[string, DayRow | null]> = all.map((day) => {
      if (got.has(day)) {
        const row = got.get(day) ?? null
        freshMs = Math.min(freshMs, request.ttlMsOf(day, row === null))
        return [day, row]
      }
      const entry = cached.get(day)
      if (entry === undefined) return [day, null] // after lastFetchable: nothing yet
      ageMs = Math.max(ageMs, now - entry.storedAt)
      freshMs = Math.min(freshMs, Math.max(0, entry.storedAt + entry.ttlMs - now))
      return [day, entry.row]
    })
    return {
      days,
      outcome,
      ageSeconds: Math.floor(ageMs / 1000),
      freshSeconds: freshMs === Number.POSITIVE_INFINITY ? 0 : Math.floor(freshMs / 1000)
    }
  }

  /**
   * The needed days: joins fetches already in flight, fetches the rest in
   * windows. A call costs one unit of budget whatever its length, so each
   * window is widened, forward then back, over neighbouring days that are
   * neither fresh nor in flight, up to `maxWindowDays`: the next request
   * nearby is then answered from the cache.
   */
  private async fetch (request: DayRequest, needed: string[]): Promise<Map<string, DayRow | null>> {
    const pending = new Set<Promise<Map<string, DayRow | null>>>()
    const now = this.now()
    const open = (day: string): boolean => {
      const key = `${request.scope}/${day}`
      if (day > request.lastFetchable || this.inflight.has(key)) return false
      const entry = this.lru.peek(key)
      const forced = request.forceRefresh === true && now - (entry?.storedAt ?? 0) >= (request.refreshFloorMs ?? 0)
      return entry === undefined || forced || now >= entry.storedAt + entry.ttlMs
    }
    for (const day of needed) {
      const inflight = this.inflight.get(`${request.scope}/${day}`)
      if (inflight !== undefined) {
        pending.add(inflight)
        continue
      }
      let [from, to, length] = [day, day, 1]
      while (length < this.maxWindowDays && open(addDays(to, 1))) [to, length] = [addDays(to, 1), length + 1]
      while (length < this.maxWindowDays && open(addDays(from, -1))) [from, length] = [addDays(from, -1), length + 1]
      const window = { from, to }
      const days = daysBetween(window.from, window.to)
      const keys = days.map((day) => `${request.scope}/${day}`)
      const promise = this.loadWindow(request, window, days, keys)
      for (const key of keys) this.inflight.set(key, promise)
      pending.add(promise)
    }
    const merged = new Map<string, DayRow | null>()
    for (const rows of await Promise.all(pending)) for (const [day, row] of rows) merged.set(day, row)
    return merged
  }

  private async loadWindow (request: DayRequest, window: { from: string, to: string }, days: string[], keys: string[]): Promise<Map<string, DayRow | null>> {
    try {
      const rows = await request.load(window.from, window.to)
      const storedAt = this.now()
      const result = new Map<string, DayRow | null>()
      days.forEach((day, index) => {
        const row = rows.get(day) ?? null
        result.set(day, row)
        const ttlMs = request.ttlMsOf(day, row === null)
        if (ttlMs > 0) {
          const size = keys[index].length + ENTRY_OVERHEAD_BYTES + (row === null ? 0 : JSON.stringify(row).length)
          // An empty day is re-checked sooner, but stands in for a failing upstream as long as any day.
          const keepMs = Math.max(ttlMs, request.ttlMsOf(day, false)) + this.maxStaleMs
          this.lru.set(keys[index], { row, storedAt, ttlMs }, { ttl: keepMs, size })
        }
      })
      return result
    } finally {
      for (const key of keys) this.inflight.delete(key)
    }
  }
}
